/**
 * Ingest: Segment's HTTP tracking API. `POST /v1/batch`, `/v1/track`, `/v1/page`, `/v1/identify`.
 * The answer carries the visitor's level after the batch, so a page can personalize with no second request.
 */
import { Hono, type Context } from 'hono';
import type { IngestResult } from '../../shared/api.js';
import { SERVER_EVENTS, type SegmentMessage } from '../../shared/events.js';
import { normalizeEmail, normalizeMessage } from '../../shared/normalize.js';
import { checkBatch, checkSingle, formatProblems, IGNORED_TYPES, type Problem } from '../../shared/validate.js';
import { authenticate, type Caller } from '../auth.js';
import { userHashValid } from '../identity-proof.js';
import { keyConfig } from '../keys.js';
import { readJson } from '../body.js';
import type { Env } from '../env.js';
import { leadStub } from '../lead/index.js';
import { fail, invalid } from '../errors.js';
import { anonKey, route } from '../identity.js';
import { contentFor } from '../site.js';


type C = Context<{ Bindings: Env }>;

/**
 * Leads one secret-key request may address: each is a call to its lead object, and a Worker request may make
 * at most 10,000 subrequests on the Workers Paid plan (50 on Free: set LEADS_PER_REQUEST=45 there). Refused up
 * front, before any lead is written, rather than failing half-way.
 */
const LEADS_PER_REQUEST = 1_000;

/**
 * The client address a site-key request is limited by: Cloudflare's CF-Connecting-IP, an IPv6 address by its /64
 * (one subscriber commonly holds a whole /64). None (a local run without the header): no per-address limit,
 * rather than one bucket shared by everyone.
 */
export function clientAddress(header: string | undefined): string | undefined {
  const ip = header?.trim();
  if (!ip) return undefined;
  if (!ip.includes(':')) return ip;
  // Expand "::" to find the first four groups.
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * What a site key may write, decided before anything is stored. A site key is public, so each rule is a
 * defence: one visitor per request (the answer describes that visitor only), server-side events refused, a
 * userId only with its proof (identity-proof.ts), and a per-address request limit so rotating anonymous ids
 * does not escape the per-visitor one.
 */
async function checkSiteKeyRequest(c: C, caller: Caller, messages: SegmentMessage[], paths: string[]): Promise<void> {
  const problems: Problem[] = [];
  messages.forEach((m, i) => {
    if (m.type === 'track' && SERVER_EVENTS.has(m.event)) problems.push({ path: `${paths[i]}.event`, reason: `"${m.event}" is a server-side event: send it with a secret key` });
  });
  if (problems.length) fail(403, 'secret_key_required', formatProblems(problems), { problems });
  const visitor = messages[0]?.anonymousId;
  messages.forEach((m, i) => {
    if (m.anonymousId === undefined || m.anonymousId === null) problems.push({ path: `${paths[i]}.anonymousId`, reason: 'a site key writes for one browser visitor: every message carries its anonymousId' });
    else if (String(m.anonymousId) !== String(visitor)) problems.push({ path: `${paths[i]}.anonymousId`, reason: `a site-key request is for one visitor ("${String(visitor).slice(0, 40)}"), not several` });
  });
  if (problems.length) invalid(problems);
  const { identitySecret } = keyConfig(c.env);
  const unproven = await Promise.all(
    messages.map(async (m, i): Promise<Problem | undefined> => {
      const userId = m.userId === undefined || m.userId === null ? '' : String(m.userId);
      if (userId.trim() === '') return undefined;
      // An email-shaped userId names the email's lead: a site key identifies by email only through traits or a form.
      if (normalizeEmail(userId)) return { path: `${paths[i]}.userId`, reason: 'a userId sent with a site key may not be an email address; send the email in traits (it links this visitor to the email’s lead)' };
      const hash = (m.context as { userHash?: unknown } | undefined)?.userHash;
      const path = `${paths[i]}.context.userHash`;
      if (!identitySecret) return { path: `${paths[i]}.userId`, reason: 'this collector has no IDENTITY_SECRET, so a site key cannot write a userId; identify the user from your server with a secret key' };
      if (hash === undefined || hash === null || hash === '') return { path, reason: 'a userId sent with a site key needs its proof: hex HMAC-SHA256(IDENTITY_SECRET, userId), computed by your backend' };
      return (await userHashValid(identitySecret, userId, hash)) ? undefined : { path, reason: 'is not the HMAC-SHA256 of this userId under the IDENTITY_SECRET' };
    }),
  );
  problems.push(...unproven.filter((p): p is Problem => !!p));
  if (problems.length) fail(403, 'identity_unverified', formatProblems(problems), { problems });
  // Last, so a refused request does not use up the address's allowance.
  const limiter = c.env.ADDRESS_LIMIT;
  const address = clientAddress(c.req.header('CF-Connecting-IP'));
  // The limiter failing must not take ingest down with it: the per-visitor limit still holds.
  const allowed = limiter && address ? await limiter.limit({ key: `${caller.key}|${address}` }).then((r) => r.success, () => true) : true;
  if (!allowed) {
    fail(429, 'rate_limited', `too many requests from this address for this site key; retry after ${ADDRESS_WINDOW_S} s`, { retryAfter: ADDRESS_WINDOW_S }, { 'Retry-After': String(ADDRESS_WINDOW_S) });
  }
}

/** The per-address limit's window (wrangler.toml's ADDRESS_LIMIT: requests per 60 s). */
const ADDRESS_WINDOW_S = 60;

async function ingest(c: C, caller: Caller, messages: SegmentMessage[], batchSentAt: string | undefined, paths: string[]) {
  if (caller.kind === 'public') await checkSiteKeyRequest(c, caller, messages, paths);
  const receivedAt = Date.now();
  const scored = messages.filter((m) => !(IGNORED_TYPES as readonly string[]).includes(m.type));
  const normalized = scored.map((m) => normalizeMessage(m, { receivedAt, batchSentAt, keyKind: caller.kind }));
  const deliveries = [...route(normalized, caller.kind === 'secret').values()];
  if (caller.kind === 'public' && deliveries.length > 1) {
    // One visitor, one lead: a site-key request may link its visitor to one email (or one proven userId), never
    // write into several leads — a stranger could otherwise touch a thousand leads per request, and a refusal by
    // one of them would not undo the others.
    const i = scored.findIndex((_, k) => deliveries[1].events.includes(normalized[k].event));
    invalid([{ path: `${paths[messages.indexOf(scored[i])]}`, reason: 'a site-key request writes to its visitor’s lead only: it names a second email or userId' }]);
  }
  const budget = Number(c.env.LEADS_PER_REQUEST) || LEADS_PER_REQUEST;
  if (deliveries.length > budget) {
    fail(413, 'too_many_leads', `this request addresses ${deliveries.length} leads; at most ${budget} per request (each is a call to its lead): split the batch`, { leads: deliveries.length, limit: budget });
  }
  const results = await Promise.all(
    deliveries.map((d) =>
      leadStub(c.env, d.target).ingest({ key: d.target, events: d.events, aliases: d.aliases, receivedAt, source: caller.kind, visitor: caller.kind === 'public' ? String(messages[0].anonymousId) : undefined }),
    ),
  );
  const limited = results.filter((r): r is Extract<IngestResult, { refused: 'rate_limited' }> => !r.ok && r.refused === 'rate_limited');
  if (limited.length) {
    const retryAfter = Math.max(...limited.map((r) => r.retryAfter));
    fail(429, 'rate_limited', `too many events from this visitor; retry after ${retryAfter} s`, { retryAfter }, { 'Retry-After': String(retryAfter) });
  }
  type Stored = Extract<IngestResult, { ok: true }>;
  const ok = results.filter((r): r is Stored => r.ok);
  // Events for an erased lead's ids are dropped while its quarantine lasts.
  const erased = results.reduce((n, r) => n + (!r.ok && r.refused === 'erased' ? r.dropped : 0), 0);
  const sum = (k: 'accepted' | 'duplicates' | 'archived') => ok.reduce((s, r) => s + r[k], 0);
  // The visitor: the lead holding the request's anonymous id (a site-key request has exactly one). A server
  // batch is answered with its first lead, and all of them in `leads`.
  const anon = normalized.find((n) => n.anonymousId)?.anonymousId;
  const mineAt = deliveries.findIndex((d) => anon && (d.target === anonKey(anon) || d.aliases.includes(anonKey(anon))));
  const at = mineAt >= 0 ? results[mineAt] : caller.kind === 'secret' ? ok[0] : undefined;
  const mine = at?.ok ? at : undefined;
  const body: Record<string, unknown> = {
    success: true,
    accepted: sum('accepted'),
    duplicates: sum('duplicates'),
    ignored: messages.length - scored.length,
  };
  if (sum('archived')) body.archived = sum('archived');
  if (erased) body.erased = erased;
  if (mine) {
    body.lead = caller.kind === 'public' ? { level: mine.lead.level, levelName: mine.lead.levelName } : mine.lead;
    body.previousLevel = mine.previousLevel;
    body.changes = mine.changes.map((ch) => ({ from: ch.from, to: ch.to, at: new Date(ch.at).toISOString(), reason: ch.reason }));
    // What the page's data-ll-slot elements show at this level: no second request needed.
    body.content = contentFor(mine.lead.level);
  }
  if (caller.kind === 'secret') body.leads = ok.map((r) => r.lead);
  return c.json(body);
}

async function batch(c: C) {
  const { json: raw, bytes } = await readJson(c.req.raw);
  const caller = authenticate(c, (raw as { writeKey?: unknown } | null)?.writeKey);
  const checked = checkBatch(raw, bytes);
  if (!checked.ok) invalid(checked.problems);
  const { batch: messages, sentAt } = checked.value;
  return ingest(c, caller, messages, sentAt, messages.map((_, i) => `batch[${i}]`));
}

// analytics.js (Segment's browser library) uses the short forms /v1/b, /v1/t, /v1/p and /v1/i.
export const ingestRoutes = new Hono<{ Bindings: Env }>()
  .post('/batch', batch)
  .post('/b', batch)
  .post('/:type{track|page|identify|t|p|i}', async (c) => {
    const type = ({ t: 'track', p: 'page', i: 'identify' } as Record<string, 'track' | 'page' | 'identify'>)[c.req.param('type')] ?? (c.req.param('type') as 'track' | 'page' | 'identify');
    const { json: raw, bytes } = await readJson(c.req.raw);
    const caller = authenticate(c, (raw as { writeKey?: unknown } | null)?.writeKey);
    const checked = checkSingle(raw, type, bytes);
    if (!checked.ok) invalid(checked.problems);
    return ingest(c, caller, [checked.value], undefined, ['body']);
  });

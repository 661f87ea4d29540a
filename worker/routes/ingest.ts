/**
 * Ingest: Segment's HTTP tracking API (SPEC, "Segment compatibility, in detail"): the batch and single-call routes.
 * The answer carries the visitor's level after the batch, so a page can personalize with no second request.
 */
import { Hono, type Context } from 'hono';
import { SERVER_EVENTS, type LeadEvent, type SegmentMessage, type SegmentType } from '../../shared/events.js';
import { normalizeEmail, normalizeMessage } from '../../shared/normalize.js';
import { checkBatch, checkSingle, formatProblems, type Problem, type Rejection } from '../../shared/validate.js';
import { authenticate, type Caller } from '../auth.js';
import { userHashValid } from '../identity-proof.js';
import { keyConfig } from '../keys.js';
import { readJson } from '../body.js';
import type { Env } from '../env.js';
import { fail, invalid } from '../errors.js';
import { anonKey } from '../identity.js';
import { plan, send, tally } from '../deliver.js';
import { experienceOf } from '../experience.js';
import { contentFor } from '../site.js';


type C = Context<{ Bindings: Env }>;

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

/** A message refused on its own, with the status a request of only such messages is answered with. */
interface Refusal extends Rejection {
  status: 400 | 403 | 413;
  error: string;
}

/** One message of the request, where it sits in it. */
interface Entry {
  message: SegmentMessage;
  index: number;
  path: string;
}

/**
 * What a site key may write, decided before anything is stored. A site key is public, so each rule is a
 * defence: one visitor per request (the answer describes that visitor only: the whole request is refused),
 * and per message, server-side events refused, a userId only with its proof (identity-proof.ts), an alias
 * only of the visitor's own anonymous id. The per-address limit (checkAddressLimit) comes after them.
 */
async function siteKeyRefusals(c: C, entries: Entry[]): Promise<Refusal[]> {
  const visitor = entries[0]?.message.anonymousId;
  const problems: Problem[] = [];
  for (const { message: m, path } of entries) {
    if (m.anonymousId === undefined || m.anonymousId === null) problems.push({ path: `${path}.anonymousId`, reason: 'a site key writes for one browser visitor: every message carries its anonymousId' });
    else if (String(m.anonymousId) !== String(visitor)) problems.push({ path: `${path}.anonymousId`, reason: `a site-key request is for one visitor ("${String(visitor).slice(0, 40)}"), not several` });
  }
  if (problems.length) invalid(problems);
  const { identitySecrets } = keyConfig(c.env);
  const refusals = await Promise.all(
    entries.map(async ({ message: m, index, path }): Promise<Refusal | undefined> => {
      const refuse = (status: 403, error: string, p: Problem): Refusal => ({ index, messageId: m.messageId ?? null, problems: [p], status, error });
      if (m.type === 'track' && SERVER_EVENTS.has(m.event)) return refuse(403, 'secret_key_required', { path: `${path}.event`, reason: `"${m.event}" is a server-side event: send it with a secret key` });
      if (m.type === 'alias' && String(m.previousId) !== String(m.anonymousId)) {
        return refuse(403, 'secret_key_required', { path: `${path}.previousId`, reason: "a site key may alias only the visitor's own anonymousId; link other ids from your server with a secret key" });
      }
      const userId = m.userId === undefined || m.userId === null ? '' : String(m.userId);
      if (userId.trim() === '') return undefined;
      // An email-shaped userId names the email's lead: a site key identifies by email only through traits or a form.
      if (normalizeEmail(userId)) return refuse(403, 'identity_unverified', { path: `${path}.userId`, reason: 'a userId sent with a site key may not be an email address; send the email in traits (it links this visitor to the email’s lead)' });
      const hash = (m.context as { userHash?: unknown } | undefined)?.userHash;
      const at = `${path}.context.userHash`;
      if (!identitySecrets.length) return refuse(403, 'identity_unverified', { path: `${path}.userId`, reason: 'this collector has no IDENTITY_SECRET, so a site key cannot write a userId; identify the user from your server with a secret key' });
      if (hash === undefined || hash === null || hash === '') return refuse(403, 'identity_unverified', { path: at, reason: 'a userId sent with a site key needs its proof: hex HMAC-SHA256(IDENTITY_SECRET, userId), computed by your backend' });
      return (await userHashValid(identitySecrets, userId, hash)) ? undefined : refuse(403, 'identity_unverified', { path: at, reason: 'is not the HMAC-SHA256 of this userId under the IDENTITY_SECRET' });
    }),
  );
  return refusals.filter((r): r is Refusal => !!r);
}

/** The per-address request limit of a site key, so rotating anonymous ids does not escape the per-visitor one. */
async function checkAddressLimit(c: C, caller: Caller): Promise<void> {
  // Lifted only for the benchmark's load generator, which sends everything from one address, and only locally.
  const lifted = c.env.ENVIRONMENT === 'development' && c.env.ADDRESS_LIMIT_OFF === 'true';
  const limiter = lifted ? undefined : c.env.ADDRESS_LIMIT;
  const address = clientAddress(c.req.header('CF-Connecting-IP'));
  // The limiter failing must not take ingest down with it: the per-visitor limit still holds.
  const allowed = limiter && address ? await limiter.limit({ key: `${caller.key}|${address}` }).then((r) => r.success, () => true) : true;
  if (!allowed) {
    fail(429, 'rate_limited', `too many requests from this address for this site key; retry after ${ADDRESS_WINDOW_S} s`, { retryAfter: ADDRESS_WINDOW_S }, { 'Retry-After': String(ADDRESS_WINDOW_S) });
  }
}

/** A request none of whose messages can be stored: answered as its first refusal says (nothing was written). */
function refuseAll(refused: Refusal[], batch: boolean): never {
  const problems = refused.flatMap((r) => r.problems);
  const extra = batch ? { rejected: refused.map(({ index, messageId, problems: p }) => ({ index, messageId, problems: p })) } : {};
  const first = refused[0];
  if (first.status === 403) {
    const shown = problems.slice(0, 50);
    fail(403, first.error, formatProblems(shown), { problems: shown, ...extra });
  }
  invalid(problems, extra);
}

/** The per-address limit's window (wrangler.toml's ADDRESS_LIMIT: requests per 60 s). */
const ADDRESS_WINDOW_S = 60;

/**
 * Stores what may be stored. `refused` are the messages validation already refused (a batch's); a site key's
 * rules may refuse more. A batch is answered 200 with the refused ones in `rejected` (Segment's per-message
 * acceptance) unless nothing is left to store; a single call's refusal is its answer.
 */
async function ingest(c: C, caller: Caller, all: Entry[], refused: Refusal[], batchSentAt: string | undefined, isBatch: boolean) {
  let entries = all;
  if (caller.kind === 'public' && entries.length) {
    const more = await siteKeyRefusals(c, entries);
    const out = new Set(more.map((r) => r.index));
    entries = entries.filter((e) => !out.has(e.index));
    refused = [...refused, ...more].sort((a, b) => a.index - b.index);
  }
  if (!entries.length) refuseAll(refused, isBatch);
  // Last, so a refused request does not use up the address's allowance.
  if (caller.kind === 'public') await checkAddressLimit(c, caller);
  const messages = entries.map((e) => e.message);
  const receivedAt = Date.now();
  // A browser's own User-Agent says whether a crawler sent it; a server's request carries its library's.
  const userAgent = caller.kind === 'public' ? c.req.header('User-Agent') : undefined;
  const normalized = messages.map((m) => normalizeMessage(m, { receivedAt, batchSentAt, keyKind: caller.kind, userAgent }));
  // Refused up front, before any lead is written, rather than failing half-way.
  const deliveries = plan(c.env, normalized, caller.kind === 'secret');
  if (caller.kind === 'public' && deliveries.length > 1) {
    // One visitor, one lead: a site-key request may link its visitor to one email (or one proven userId), never
    // write into several leads — a stranger could otherwise touch a thousand leads per request, and a refusal by
    // one of them would not undo the others.
    const k = normalized.findIndex((n) => deliveries[1].events.includes(n.event));
    invalid([{ path: entries[k].path, reason: 'a site-key request writes to its visitor’s lead only: it names a second email or userId' }]);
  }
  const visitor = caller.kind === 'public' ? String(messages[0].anonymousId) : undefined;
  // A site key's userId is proven (unproven ones were refused); an email alone is only a claim.
  const byEmail = visitor !== undefined && !normalized.some((n) => n.userId);
  let results = await send(c.env, deliveries, { receivedAt, source: caller.kind, visitor, byEmail });
  if (visitor !== undefined && deliveries.length === 1 && !results[0].ok && results[0].refused === 'claimed') {
    // The email names a lead that exists: the batch stays with the visitor's own lead (answered about), and the
    // known lead gets the claim — the events that carry the email (sales sees the form) — without merging.
    const known = deliveries[0];
    deliveries[0] = { target: anonKey(visitor), aliases: [], events: known.events };
    results = await send(c.env, deliveries, { receivedAt, source: caller.kind, visitor });
    const claim = normalized.filter((n) => n.email).map((n): LeadEvent => ({ ...n.event, claim: true, traits: n.event.traits && { email: n.email! } }));
    if (results[0].ok && claim.length) await send(c.env, [{ target: known.target, aliases: [], events: claim }], { receivedAt, source: caller.kind, visitor, claim: true });
  }
  const { ok, accepted, duplicates, archived, erased } = tally(results);
  // The visitor: the lead holding the request's anonymous id (a site-key request has exactly one). A server
  // batch is answered with its first lead, and all of them in `leads`.
  const anon = normalized.find((n) => n.anonymousId)?.anonymousId;
  const mineAt = deliveries.findIndex((d) => anon && (d.target === anonKey(anon) || d.aliases.includes(anonKey(anon))));
  const at = mineAt >= 0 ? results[mineAt] : caller.kind === 'secret' ? ok[0] : undefined;
  const mine = at?.ok ? at : undefined;
  const body: Record<string, unknown> = {
    success: true,
    accepted,
    duplicates,
  };
  if (isBatch) body.rejected = refused.map(({ index, messageId, problems }) => ({ index, messageId, problems }));
  if (archived) body.archived = archived;
  if (erased) body.erased = erased;
  if (mine) {
    body.lead = caller.kind === 'public' ? { level: mine.lead.level, levelName: mine.lead.levelName } : mine.lead;
    body.previousLevel = mine.previousLevel;
    body.changes = mine.changes.map((ch) => ({ from: ch.from, to: ch.to, at: new Date(ch.at).toISOString(), reason: ch.reason }));
    // What the visitor is shown (their level's content, or the default when held out: worker/experience.ts) and
    // the content of the page's data-ll-slot elements for it: no second request needed.
    const experience = await experienceOf(c.env, anon, mine.lead.level);
    body.show = experience.show;
    if (experience.holdout) body.holdout = true;
    body.content = contentFor(experience.show);
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
  const entries = checked.accepted.map((index) => ({ message: messages[index], index, path: `batch[${index}]` }));
  const refused = checked.rejected.map((r): Refusal => ({ ...r, status: r.problems.some((p) => p.tooLarge) ? 413 : 400, error: 'invalid_request' }));
  return ingest(c, caller, entries, refused, sentAt, true);
}

/** A single call: its type comes from the path. */
const single = (type: SegmentType) => async (c: C) => {
  const { json: raw, bytes } = await readJson(c.req.raw);
  const caller = authenticate(c, (raw as { writeKey?: unknown } | null)?.writeKey);
  const checked = checkSingle(raw, type, bytes);
  if (!checked.ok) invalid(checked.problems);
  return ingest(c, caller, [{ message: checked.value, index: 0, path: 'body' }], [], undefined, false);
};

/**
 * Segment's route table, anchored: `/v1/batch`, `/v1/import` (analytics-ruby, analytics-java), the single
 * calls, and analytics.js's one-letter forms; a trailing slash is harmless. Any other path under /v1 is a 404
 * (index.ts), never ingest.
 */
const BATCH_PATHS = ['batch', 'b', 'import'];
const SINGLE_PATHS: Record<string, SegmentType> = { track: 'track', t: 'track', page: 'page', p: 'page', screen: 'screen', s: 'screen', identify: 'identify', i: 'identify', group: 'group', g: 'group', alias: 'alias', a: 'alias' };

export const ingestRoutes = new Hono<{ Bindings: Env }>();
for (const path of BATCH_PATHS) ingestRoutes.post(`/${path}`, batch).post(`/${path}/`, batch);
for (const [path, type] of Object.entries(SINGLE_PATHS)) ingestRoutes.post(`/${path}`, single(type)).post(`/${path}/`, single(type));

/**
 * Ingest: Segment's HTTP tracking API. `POST /v1/batch`, `/v1/track`, `/v1/page`, `/v1/identify`.
 * The answer carries the visitor's level after the batch, so a page can personalize with no second request.
 */
import { Hono, type Context } from 'hono';
import type { IngestResult } from '../../shared/api.js';
import { SERVER_EVENTS, type SegmentMessage } from '../../shared/events.js';
import { normalizeMessage } from '../../shared/normalize.js';
import { checkBatch, checkSingle, formatProblems, IGNORED_TYPES, type Problem } from '../../shared/validate.js';
import { authenticate, type Caller } from '../auth.js';
import { readJson } from '../body.js';
import type { Env } from '../env.js';
import { leadStub } from '../lead/index.js';
import { fail, invalid } from '../errors.js';
import { anonKey, route } from '../identity.js';
import { contentFor } from '../site.js';


type C = Context<{ Bindings: Env }>;

async function ingest(c: C, caller: Caller, messages: SegmentMessage[], batchSentAt: string | undefined, paths: string[]) {
  if (caller.kind === 'public') {
    const problems: Problem[] = [];
    messages.forEach((m, i) => {
      if (m.type === 'track' && SERVER_EVENTS.has(m.event)) problems.push({ path: `${paths[i]}.event`, reason: `"${m.event}" is a server-side event: send it with a secret key` });
    });
    if (problems.length) fail(403, 'secret_key_required', formatProblems(problems), { problems });
    // A site key is public: whoever holds it writes for one visitor (their own browser) per request, so the
    // answer can only ever describe that visitor's lead.
    const visitor = messages[0]?.anonymousId;
    messages.forEach((m, i) => {
      if (m.anonymousId === undefined || m.anonymousId === null) problems.push({ path: `${paths[i]}.anonymousId`, reason: 'a site key writes for one browser visitor: every message carries its anonymousId' });
      else if (String(m.anonymousId) !== String(visitor)) problems.push({ path: `${paths[i]}.anonymousId`, reason: `a site-key request is for one visitor ("${String(visitor).slice(0, 40)}"), not several` });
    });
    if (problems.length) invalid(problems);
  }
  const receivedAt = Date.now();
  const scored = messages.filter((m) => !(IGNORED_TYPES as readonly string[]).includes(m.type));
  const normalized = scored.map((m) => normalizeMessage(m, { receivedAt, batchSentAt, keyKind: caller.kind }));
  const deliveries = [...route(normalized, caller.kind === 'secret').values()];
  const results = await Promise.all(
    deliveries.map((d) =>
      leadStub(c.env, d.target).ingest({ key: d.target, events: d.events, aliases: d.aliases, receivedAt, source: caller.kind }),
    ),
  );
  const limited = results.filter((r): r is Extract<IngestResult, { ok: false }> => !r.ok);
  if (limited.length) {
    const retryAfter = Math.max(...limited.map((r) => r.retryAfter));
    fail(429, 'rate_limited', `too many events from this visitor; retry after ${retryAfter} s`, { retryAfter }, { 'Retry-After': String(retryAfter) });
  }
  const ok = results as Extract<IngestResult, { ok: true }>[];
  const sum = (k: 'accepted' | 'duplicates' | 'archived') => ok.reduce((s, r) => s + r[k], 0);
  // The visitor: the lead holding the request's anonymous id (a site-key request has exactly one). A server
  // batch is answered with its first lead, and all of them in `leads`.
  const anon = normalized.find((n) => n.anonymousId)?.anonymousId;
  const mineAt = deliveries.findIndex((d) => anon && (d.target === anonKey(anon) || d.aliases.includes(anonKey(anon))));
  const mine = mineAt >= 0 ? ok[mineAt] : caller.kind === 'secret' ? ok[0] : undefined;
  const body: Record<string, unknown> = {
    success: true,
    accepted: sum('accepted'),
    duplicates: sum('duplicates'),
    ignored: messages.length - scored.length,
  };
  if (sum('archived')) body.archived = sum('archived');
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

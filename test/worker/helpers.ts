import { abortAllDurableObjects, applyD1Migrations, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import type { LedgerLine } from '../../shared/api.js';
import { DEV_IDENTITY_SECRET, userHash } from '../../worker/identity-proof.js';

export const BASE = 'http://collector.test';
export const SECRET = 'Basic ' + btoa('sk_dev:');
export const LOCAL_PAGE = 'http://localhost:5173';

let n = 0;
export const uid = (prefix = 'x') => `${prefix}-${Date.now().toString(36)}-${(++n).toString(36)}`;

export function call(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  // Each request from an address of its own, unless the test names one: the per-address limit is tested apart.
  if (!headers.has('CF-Connecting-IP')) headers.set('CF-Connecting-IP', `10.${(++n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  }
  return exports.default.fetch(new Request(BASE + path, { ...init, headers, body }));
}

/** A server-side batch with the secret key. */
export const serverBatch = (batch: unknown[], extra: Record<string, unknown> = {}) =>
  call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET }, json: { batch, ...extra } });

/** A browser batch: site key in the body, text/plain, from a local page. */
export const browserBatch = (batch: unknown[], origin = LOCAL_PAGE) =>
  call('/v1/batch', { method: 'POST', headers: { Origin: origin, 'Content-Type': 'text/plain' }, body: JSON.stringify({ writeKey: 'pk_demo', batch }) });

export const readLead = (id: string) => call(`/v1/leads/${encodeURIComponent(id)}`, { headers: { Authorization: SECRET } });

/** What a lead's ledger entries add to one of its scores (entries count toward `both`, `lead` or `engagement`). */
export const ledgerSum = (lines: LedgerLine[], score: 'lead' | 'engagement') => lines.reduce((s, x) => s + (x.counts === 'both' || x.counts === score ? x.points : 0), 0);

/** The whole ledger as the events listing gives it, page by page: each event's entries and each page's own. */
export async function listedLedger(id: string, limit = 1): Promise<{ entries: LedgerLine[]; pages: number }> {
  const entries: LedgerLine[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page = await (await call(`/v1/leads/${encodeURIComponent(id)}/events?limit=${limit}${q}`, { headers: { Authorization: SECRET } })).json<{ events: { ledger: LedgerLine[] }[]; ledger: LedgerLine[]; nextCursor: string | null }>();
    entries.push(...page.ledger, ...page.events.flatMap((e) => e.ledger));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  return { entries, pages };
}

/** What a site's backend computes for a signed-in user: the userId's proof under the local IDENTITY_SECRET. */
export const signUserId = (userId: string) => userHash(DEV_IDENTITY_SECRET, userId);

export const iso = (t: number) => new Date(t).toISOString();
export const DAY = 86_400_000;

export { env };

/** The lead object stored under a key (`u:…`, `e:…`, `a:…`). */
export const leadObject = (key: string) => env.LEAD.getByName(key);

/**
 * Lets a lead's outbox drain: runs its alarm until nothing is left to deliver. A level change is delivered at
 * once; a lead whose scores alone moved refreshes its index row within 2 s, so this waits for that too. An
 * early alarm is harmless — it finds nothing due and sets itself again.
 */
export async function drain(key: string): Promise<void> {
  const stub = leadObject(key);
  for (let i = 0; i < 40; i++) {
    await runDurableObjectAlarm(stub);
    const left = await runInDurableObject(stub, (_, state) => {
      const t = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'outbox'").toArray().length;
      return t ? (state.storage.sql.exec('SELECT COUNT(*) AS n FROM outbox').one().n as number) : 0;
    });
    if (!left) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the outbox of ${key} did not drain`);
}

/**
 * Restarts every lead object, as an eviction or a crash would, once the named leads are at rest: their outbox
 * delivered and no alarm due. (The local runtime cannot tear a test pool down cleanly after an object was
 * aborted in the middle of its alarm, so a test never crashes one there by accident.)
 */
export async function restart(...keys: string[]): Promise<void> {
  for (const key of keys) {
    const stub = leadObject(key);
    for (let i = 0; i < 200; i++) {
      const { left, alarm } = await runInDurableObject(stub, async (_, state) => {
        const t = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'outbox'").toArray().length;
        return { left: t ? (state.storage.sql.exec('SELECT COUNT(*) AS n FROM outbox').one().n as number) : 0, alarm: await state.storage.getAlarm() };
      });
      if (!left && (alarm === null || alarm > Date.now() + 2_000)) break;
      if (alarm !== null && alarm <= Date.now()) await runDurableObjectAlarm(stub);
      else await new Promise((r) => setTimeout(r, 25));
    }
  }
  await abortAllDurableObjects();
}

export const alarmOf = (key: string) => runInDurableObject(leadObject(key), (_, state) => state.storage.getAlarm());

/** The lead index's schema in the tests' local D1, as `wrangler d1 migrations apply` makes it for a deployment. */
export const migrateIndex = () => applyD1Migrations(env.INDEX, env.INDEX_MIGRATIONS);
// Every test file that writes leads has the index their outboxes deliver to (an undeliverable row keeps its
// lead's alarm retrying, which holds the test pool between files).
await migrateIndex();

/** Polls a model run's status path (GET /v1/models/{version}/preview|publish[/{run}]) until it completes. */
export async function waitRun(status: string): Promise<any> {
  for (let i = 0; i < 1200; i++) {
    const s = await (await call(status, { headers: { Authorization: SECRET } })).json<any>();
    if (s.status === 'complete') return s;
    if (s.status === 'errored' || s.status === 'terminated') throw new Error(`run ${s.status}: ${JSON.stringify(s.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${status} did not finish`);
}

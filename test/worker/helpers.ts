import { applyD1Migrations, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';

export const BASE = 'http://collector.test';
export const SECRET = 'Basic ' + btoa('sk_dev:');
export const LOCAL_PAGE = 'http://localhost:5173';

let n = 0;
export const uid = (prefix = 'x') => `${prefix}-${Date.now().toString(36)}-${(++n).toString(36)}`;

export function call(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
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

export const iso = (t: number) => new Date(t).toISOString();
export const DAY = 86_400_000;

export { env };

/** The lead object stored under a key (`u:…`, `e:…`, `a:…`). */
export const leadObject = (key: string) => env.LEAD.getByName(key);

/**
 * Lets a lead's outbox drain (a batch that changes a level schedules an immediate delivery): runs its alarm
 * until nothing is left to deliver. An early alarm is harmless — it finds nothing due and sets itself again.
 */
export async function drain(key: string): Promise<void> {
  const stub = leadObject(key);
  for (let i = 0; i < 5; i++) {
    await runDurableObjectAlarm(stub);
    const left = await runInDurableObject(stub, (_, state) => {
      const t = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'outbox'").toArray().length;
      return t ? (state.storage.sql.exec('SELECT COUNT(*) AS n FROM outbox').one().n as number) : 0;
    });
    if (!left) return;
  }
}

export const alarmOf = (key: string) => runInDurableObject(leadObject(key), (_, state) => state.storage.getAlarm());

/** The lead index's schema in the tests' local D1, as `wrangler d1 migrations apply` makes it for a deployment. */
export const migrateIndex = () => applyD1Migrations(env.INDEX, env.INDEX_MIGRATIONS);
// Every test file that writes leads has the index their outboxes deliver to (an undeliverable row keeps its
// lead's alarm retrying, which holds the test pool between files).
await migrateIndex();

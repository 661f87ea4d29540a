/**
 * The collector benchmark's load: browser-like batches of 10 events from 8 concurrent clients, and when each lead
 * was last visited, so a run can say how many of its requests found the lead's Durable Object idle long enough
 * to have been evicted.
 */

/** Local workerd evicts a Durable Object after 10 s without requests. */
export const EVICTION_MS = 10_000;
const CONCURRENCY = 8;
const PATHS = ['/', '/pricing', '/features', '/docs/api', '/blog/launch', '/customers/acme', '/compare/hubspot'];

let seq = 0;
export const mid = () => `bench-${process.pid}-${(++seq).toString(36)}`;

export interface Target {
  name: string;
  url: string;
  /** When each lead's last answer arrived. */
  seen: Map<string, number>;
}

export interface Run {
  rps: number;
  lat: number[];
  /** Requests to a lead visited before, and how many of those came after more than EVICTION_MS idle. */
  revisits: number;
  evicted: number;
  /** Milliseconds each revisited lead had been idle. */
  idle: number[];
  /** Answers saying the object had just been constructed (only the ceiling Worker reports it). */
  cold: number;
  errors: number;
  firstError?: string;
}

/** Simulated browsers say what a browser says: Node's fetch sends `node`, a machine's user agent the collector holds. */
const BROWSER_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

/** A browser-like batch of 10 events: page views and a pricing-page read. */
function browserBatch(anonymousId: string, n: number): string {
  const batch = Array.from({ length: 10 }, (_, k) =>
    k === 9
      ? { type: 'track', anonymousId, messageId: mid(), event: 'Page Engaged', properties: { path: '/pricing', seconds: 30 } }
      : { type: 'page', anonymousId, messageId: mid(), properties: { path: PATHS[(n + k) % PATHS.length] } },
  );
  return JSON.stringify({ writeKey: 'pk_demo', batch, sentAt: new Date().toISOString() });
}

/** Visits `leads` in turn, on and on across calls. */
export function cycle(leads: string[]): () => string {
  let i = 0;
  return () => leads[i++ % leads.length];
}

/** One batch per request to the lead `next()` names, for `seconds` or until `count` batches were sent. */
export async function load(target: Target, next: () => string, { seconds = Infinity, count = Infinity }: { seconds?: number; count?: number }): Promise<Run> {
  const run: Run = { rps: 0, lat: [], revisits: 0, evicted: 0, idle: [], cold: 0, errors: 0 };
  let sent = 0;
  const end = performance.now() + Math.min(seconds * 1000, 3_600_000);
  const client = async () => {
    while (performance.now() < end && sent++ < count) {
      const lead = next();
      const body = browserBatch(lead, sent);
      const t0 = performance.now();
      const last = target.seen.get(lead);
      if (last !== undefined) {
        run.revisits++;
        run.idle.push(t0 - last);
        if (t0 - last > EVICTION_MS) run.evicted++;
      }
      const res = await fetch(`${target.url}/v1/batch`, { method: 'POST', headers: { Origin: 'http://localhost:3000', 'Content-Type': 'text/plain', 'User-Agent': BROWSER_UA }, body });
      const text = await res.text();
      const t1 = performance.now();
      target.seen.set(lead, t1);
      run.lat.push(t1 - t0);
      if (text.includes('"cold":true')) run.cold++;
      if (!res.ok) {
        run.errors++;
        run.firstError ??= `${res.status} ${text.slice(0, 300)}`;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  run.rps = run.lat.length / ((performance.now() - t0) / 1000);
  return run;
}

/** One batch with the secret key (a server's send); its round trip in ms. Throws on anything but a 2xx. */
export async function post(url: string, batch: unknown[]): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { Authorization: 'Bearer sk_dev', 'Content-Type': 'application/json' }, body: JSON.stringify({ batch }) });
  const text = await res.text();
  if (!res.ok) throw new Error(`batch failed: ${res.status} ${text.slice(0, 300)}`);
  return performance.now() - t0;
}

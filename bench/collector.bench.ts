/**
 * Collector benchmarks on the local runtime (wrangler dev / workerd), each figure beside a baseline measured in
 * the same run: POST /v1/batch throughput and latency against a no-op Worker (goal ≥ 0.5), per-event latency
 * of a lead holding 100,000 events against one holding 10 (goal ≤ 1.5×), and storage per lead after a year.
 */
import { startLocal, type Local } from '../scripts/local-collector.js';
import { median, percentile, report } from './report.js';

const SECRET = { Authorization: 'Basic ' + Buffer.from('sk_dev:').toString('base64'), 'Content-Type': 'application/json' };
const BROWSER = { Origin: 'http://localhost:3000', 'Content-Type': 'text/plain' };
const DAY = 86_400_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
const CONCURRENCY = 8;
const LEADS = Number(process.env.BENCH_LEADS ?? 1_000);

let seq = 0;
const mid = () => `bench-${process.pid}-${(++seq).toString(36)}`;
const PATHS = ['/', '/pricing', '/features', '/docs/api', '/blog/launch', '/customers/acme', '/compare/hubspot'];

/** A browser-like batch of 10 events for one of 1,000 visitors. */
function browserBatch(i: number): string {
  const anonymousId = `visitor-${process.pid}-${i % LEADS}`;
  const batch = Array.from({ length: 10 }, (_, k) =>
    k === 9
      ? { type: 'track', anonymousId, messageId: mid(), event: 'Page Engaged', properties: { path: '/pricing', seconds: 30 } }
      : { type: 'page', anonymousId, messageId: mid(), properties: { path: PATHS[(i + k) % PATHS.length] } },
  );
  return JSON.stringify({ writeKey: 'pk_demo', batch, sentAt: new Date().toISOString() });
}

let next = 0;
/** Batches from 8 concurrent clients, for `seconds` or until `count` batches were sent. */
async function load(url: string, seconds: number, count = Infinity): Promise<{ rps: number; lat: number[]; errors: number }> {
  const lat: number[] = [];
  let errors = 0;
  let sent = 0;
  const end = performance.now() + (count === Infinity ? seconds * 1000 : 3_600_000);
  const worker = async () => {
    while (performance.now() < end && sent++ < count) {
      const body = browserBatch(next++);
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: BROWSER, body });
      await res.arrayBuffer();
      lat.push(performance.now() - t0);
      if (!res.ok) errors++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { rps: lat.length / ((performance.now() - t0) / 1000), lat, errors };
}

async function post(url: string, batch: unknown[]): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: SECRET, body: JSON.stringify({ batch }) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`batch failed: ${res.status}`);
  return performance.now() - t0;
}

/** A lead's history: `n` events spread over the last `days` days, in order. */
async function seed(url: string, userId: string, n: number, days: number) {
  const start = Date.now() - days * DAY;
  for (let i = 0; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({
      type: 'page',
      userId,
      messageId: mid(),
      timestamp: new Date(start + ((i + k) * days * DAY) / n).toISOString(),
      properties: { path: PATHS[(i + k) % PATHS.length] },
    }));
    await post(url, batch);
  }
}

/** A typical year: two visits a week (pages, a pricing read), email opens and clicks, a form a month. */
function typicalYear(userId: string): unknown[][] {
  const start = Date.now() - 365 * DAY;
  const events: unknown[] = [];
  const at = (t: number) => new Date(t).toISOString();
  for (let w = 0; w < 52; w++) {
    for (const visit of [1, 4]) {
      const t = start + (w * 7 + visit) * DAY + 10 * 3600_000;
      for (let p = 0; p < 4; p++) events.push({ type: 'page', userId, messageId: mid(), timestamp: at(t + p * 60_000), properties: { path: PATHS[(w + p) % PATHS.length], title: 'Page', referrer: 'https://www.google.com/' } });
      for (let s = 1; s <= 3; s++) events.push({ type: 'track', userId, messageId: mid(), event: 'Page Engaged', timestamp: at(t + 4 * 60_000 + s * 15_000), properties: { path: '/pricing', seconds: s * 15 } });
    }
    for (const d of [2, 5]) events.push({ type: 'track', userId, messageId: mid(), event: 'Email Opened', timestamp: at(start + (w * 7 + d) * DAY), properties: { campaign: `newsletter-${w}` } });
    if (w % 2 === 0) events.push({ type: 'track', userId, messageId: mid(), event: 'Email Link Clicked', timestamp: at(start + (w * 7 + 2) * DAY + 60_000), properties: { campaign: `newsletter-${w}` } });
    if (w % 4 === 0) events.push({ type: 'track', userId, messageId: mid(), event: 'Form Submitted', timestamp: at(start + (w * 7 + 4) * DAY + 3600_000), properties: { form: 'Guide', kind: 'content_download' } });
  }
  const batches: unknown[][] = [];
  for (let i = 0; i < events.length; i += 100) batches.push(events.slice(i, i + 100));
  return batches;
}

let collector: Local | undefined;
let noop: Local | undefined;
try {
  [collector, noop] = await Promise.all([startLocal(), startLocal(['--config', 'bench/noop/wrangler.toml'])]);

  // 1. Throughput and latency. First every one of the 1,000 visitors arrives (a new Durable Object each),
  // then returning visitors, the collector and the no-op baseline alternately, twice each.
  const firstVisits = await load(collector.url, 0, LEADS);
  await load(noop.url, 2);
  // Short alternating rounds, so a noisy moment hits both sides; the ratio is the median of the rounds'.
  const runs = { collector: [] as Awaited<ReturnType<typeof load>>[], noop: [] as Awaited<ReturnType<typeof load>>[] };
  const ratios: number[] = [];
  for (let r = 0; r < 6; r++) {
    runs.collector.push(await load(collector.url, SECONDS / 6));
    runs.noop.push(await load(noop.url, SECONDS / 6));
    ratios.push(runs.collector[r].rps / runs.noop[r].rps);
  }
  const merged = (xs: Awaited<ReturnType<typeof load>>[]) => ({
    rps: median(xs.map((x) => x.rps)),
    lat: xs.flatMap((x) => x.lat),
    errors: xs.reduce((s, x) => s + x.errors, 0),
  });
  const c = merged(runs.collector);
  const n = merged(runs.noop);

  // 2. Per-event latency: a lead with 100,000 events against one with 10, single-event batches, alternating.
  const big = `big-${process.pid}`;
  const small = `small-${process.pid}`;
  await seed(collector.url, big, 100_000, 300);
  await seed(collector.url, small, 10, 300);
  const one = (userId: string) => [{ type: 'page', userId, messageId: mid(), properties: { path: '/features' } }];
  for (let i = 0; i < 20; i++) await post(collector.url, one(big)), await post(collector.url, one(small));
  const perBig: number[] = [];
  const perSmall: number[] = [];
  for (let i = 0; i < 300; i++) {
    perBig.push(await post(collector.url, one(big)));
    perSmall.push(await post(collector.url, one(small)));
  }

  // 3. Storage after a typical year.
  const typical = `typical-${process.pid}`;
  const batches = typicalYear(typical);
  for (const b of batches) await post(collector.url, b);
  const lead = (await (await fetch(`${collector.url}/v1/leads/${typical}`, { headers: SECRET })).json()) as { events: number; storageBytes: number };

  report('collector (local workerd, POST /v1/batch, 10 events a batch, 1,000 leads, 8 concurrent)', [
    ['first batch of each of 1,000 new visitors, requests/s', firstVisits.rps.toFixed(0)],
    ['returning visitors: collector requests/s', c.rps.toFixed(0)],
    ['no-op Worker requests/s', n.rps.toFixed(0)],
    ['ratio collector : no-op, median of 6 rounds (goal ≥ 0.5)', `${median(ratios).toFixed(2)} (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`],
    ['collector latency p50 / p99 (ms)', `${percentile(c.lat, 50).toFixed(1)} / ${percentile(c.lat, 99).toFixed(1)}`],
    ['no-op latency p50 / p99 (ms)', `${percentile(n.lat, 50).toFixed(1)} / ${percentile(n.lat, 99).toFixed(1)}`],
    ['non-2xx answers', String(c.errors + n.errors)],
    ['one event, lead with 10 events (ms, median of 300)', median(perSmall).toFixed(2)],
    ['one event, lead with 100,000 events (ms, median of 300)', median(perBig).toFixed(2)],
    ['ratio 100,000 : 10 (goal ≤ 1.5)', (median(perBig) / median(perSmall)).toFixed(2)],
    [`storage after a typical year (${lead.events} events), bytes`, String(lead.storageBytes)],
    ['storage per event, bytes', (lead.storageBytes / lead.events).toFixed(0)],
  ]);
} finally {
  collector?.stop();
  noop?.stop();
}

/**
 * Collector benchmarks on the local runtime (wrangler dev / workerd), each figure beside baselines measured in
 * the same run. POST /v1/batch throughput against two baselines: a no-op Worker (parses the batch and answers)
 * and the ceiling (bench/ceiling/: one SQLite Durable Object per lead that durably stores the batch's 10 rows),
 * the floor of work any collector does on this runtime, so collector : ceiling measures our code rather than the
 * machine (goal ≥ 0.9). Two modes: warm, each lead revisited about every second; evicted, each lead revisited
 * after more than 10 s idle, when local workerd has evicted its object. Then one lead's history: an event into a
 * 100,000-event lead vs a 10-event lead (goal ≤ 1.5×), a 6-day-late event vs an in-order one at 100,000 events
 * (goal ≤ 1.5×), and storage per event after a typical year (goal ≤ 300 bytes).
 */
import { startLocal, type Local } from '../scripts/local-collector.js';
import { cycle, EVICTION_MS, load, mid, post, type Run, type Target } from './load.js';
import { median, percentile, report } from './report.js';

const SECRET = { Authorization: 'Bearer sk_dev', 'Content-Type': 'application/json' };
const DAY = 86_400_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
// Rounds of at most 2.5 s, so a warm lead idles about 5 s while the other two targets take their turns.
const ROUNDS = Math.max(6, Math.ceil(SECONDS / 2.5));
const ROUND_SECONDS = SECONDS / ROUNDS;
// At the collector's warm rate here (150–250 batches/s) each of 100 leads is revisited about every 0.5 s.
const WARM_LEADS = 100;
// About a round's worth at the collector's evicted rate.
const EVICTED_LEADS = Math.max(30, Math.round(ROUND_SECONDS * 80));
const PAIRS = Math.max(50, Math.round(SECONDS * 25));
const PATHS = ['/', '/pricing', '/features', '/docs/api', '/blog/launch', '/customers/acme', '/compare/hubspot'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A lead's figures from `GET /v1/leads/{id}`; storage per event depends on `storageBytes`, so its absence is an error. */
async function storage(url: string, id: string): Promise<{ events: number; storageBytes: number }> {
  const res = await fetch(`${url}/v1/leads/${encodeURIComponent(id)}`, { headers: SECRET });
  const lead = (await res.json().catch(() => null)) as { events?: unknown; storageBytes?: unknown } | null;
  if (!res.ok || typeof lead?.events !== 'number' || typeof lead.storageBytes !== 'number' || !(lead.storageBytes > 0)) {
    throw new Error(`GET /v1/leads/${id} (${res.status}) did not give "events" and "storageBytes" as numbers: ${JSON.stringify(lead).slice(0, 300)}`);
  }
  return { events: lead.events, storageBytes: lead.storageBytes };
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

/** ROUNDS rounds, each target in turn, so a noisy moment hits all three; ratios are taken round by round. */
async function alternate(targets: Target[], run: (t: Target, round: number) => Promise<Run>): Promise<Map<Target, Run[]>> {
  const out = new Map(targets.map((t) => [t, [] as Run[]]));
  for (let r = 0; r < ROUNDS; r++) for (const t of targets) out.get(t)!.push(await run(t, r));
  return out;
}

function failOnErrors(t: Target, runs: Run[], local: Local): void {
  const bad = runs.find((r) => r.errors);
  if (bad) {
    const n = runs.reduce((s, r) => s + r.errors, 0);
    throw new Error(`${t.name}: ${n} non-2xx answers, the figures would be meaningless; first: ${bad.firstError}\nits log ends:\n${local.log().slice(-4000)}`);
  }
}

const started: Local[] = [];
try {
  const settled = await Promise.allSettled([
    startLocal(['--config', 'bench/noop/wrangler.toml']),
    startLocal(['--config', 'bench/ceiling/wrangler.toml']),
    // Lifted: the bench sends far more than a visitor's 120 events a minute, and 429s would pass for speed.
    startLocal(['--var', 'VISITOR_EVENTS_PER_MINUTE:1000000000', '--var', 'ADDRESS_LIMIT_OFF:true']),
  ]);
  for (const s of settled) if (s.status === 'fulfilled') started.push(s.value);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  const targets: Target[] = ['no-op', 'ceiling', 'collector'].map((name, i) => ({ name, url: started[i].url, seen: new Map() }));
  const [noop, ceiling, collector] = targets;
  const leads = (t: Target, tag: string, n: number) => Array.from({ length: n }, (_, k) => `${t.name}-${process.pid}-${tag}-${k}`);

  // 1. Warm: a first visit to each warm lead, then timed rounds cycling through them.
  const warmNext = new Map(targets.map((t) => [t, cycle(leads(t, 'warm', WARM_LEADS))]));
  const warmFirst = new Map<Target, Run>();
  for (const t of targets) warmFirst.set(t, await load(t, warmNext.get(t)!, { count: WARM_LEADS }));
  const warm = await alternate(targets, (t) => load(t, warmNext.get(t)!, { seconds: ROUND_SECONDS }));

  // 2. Evicted: every lead of the evicted rounds gets its first batch (a new Durable Object each), then all idle
  // until evicted (and the evictions are over, so their work does not land in a round), then one batch to each
  // lead, a fresh set each round.
  const firstVisits = new Map<Target, Run>();
  for (const t of targets) {
    const all = Array.from({ length: ROUNDS }, (_, r) => leads(t, `evicted${r}`, EVICTED_LEADS)).flat();
    firstVisits.set(t, await load(t, cycle(all), { count: all.length }));
  }
  await sleep(EVICTION_MS + 2_000);
  const evicted = await alternate(targets, (t, r) => load(t, cycle(leads(t, `evicted${r}`, EVICTED_LEADS)), { count: EVICTED_LEADS }));

  targets.forEach((t, i) => failOnErrors(t, [warmFirst.get(t)!, firstVisits.get(t)!, ...warm.get(t)!, ...evicted.get(t)!], started[i]));

  // 3. One lead's history, on the collector: single-event batches with the secret key, alternating.
  const big = `big-${process.pid}`;
  const small = `small-${process.pid}`;
  await seed(collector.url, big, 100_000, 365);
  await seed(collector.url, small, 10, 365);
  const smallStorage = await storage(collector.url, small);
  const one = (userId: string, t = Date.now()) => [{ type: 'page', userId, messageId: mid(), timestamp: new Date(t).toISOString(), properties: { path: '/features' } }];
  for (let i = 0; i < 20; i++) await post(collector.url, one(big)), await post(collector.url, one(small));
  const perBig: number[] = [];
  const perSmall: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    perBig.push(await post(collector.url, one(big)));
    perSmall.push(await post(collector.url, one(small)));
  }
  // A server replaying a CRM's week, a queue drained late: events 6 days old into the 100,000-event lead.
  for (let i = 0; i < 10; i++) await post(collector.url, one(big)), await post(collector.url, one(big, Date.now() - 6 * DAY));
  const inOrder: number[] = [];
  const late: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    inOrder.push(await post(collector.url, one(big)));
    late.push(await post(collector.url, one(big, Date.now() - 6 * DAY)));
  }

  // 4. Storage after a typical year, in the collector and in the ceiling's bare events table.
  const typical = `typical-${process.pid}`;
  for (const b of typicalYear(typical)) await post(collector.url, b), await post(ceiling.url, b);
  const year = await storage(collector.url, typical);
  const bare = await storage(ceiling.url, typical);

  const each = (f: (t: Target) => string) => targets.map(f).join(' / ');
  const ratio = (runs: Map<Target, Run[]>, a: Target, b: Target) => {
    const rs = runs.get(a)!.map((x, r) => x.rps / runs.get(b)![r].rps);
    return `${median(rs).toFixed(2)} (rounds ${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})`;
  };
  const rps = (runs: Map<Target, Run[]>, t: Target) => median(runs.get(t)!.map((x) => x.rps));
  const lat = (runs: Map<Target, Run[]>, t: Target) => {
    const xs = runs.get(t)!.flatMap((x) => x.lat);
    return `${percentile(xs, 50).toFixed(1)} / ${percentile(xs, 99).toFixed(1)}`;
  };
  const share = (runs: Run[], k: 'evicted' | 'cold', of: 'revisits' | 'requests') => {
    const n = runs.reduce((s, x) => s + x[k], 0);
    const d = runs.reduce((s, x) => s + (of === 'revisits' ? x.revisits : x.lat.length), 0);
    return `${((100 * n) / d).toFixed(0)}%`;
  };
  const both = (f: (runs: Map<Target, Run[]>) => string) => [f(warm), f(evicted)];

  report(`collector vs baselines (local workerd, POST /v1/batch, 10 events a batch, 8 concurrent, medians of ${ROUNDS} alternating rounds)`, [
    ['', 'warm', 'evicted'],
    ['leads per target', `${WARM_LEADS}, in turn`, `${ROUNDS} × ${EVICTED_LEADS}, each once after ≥ ${(EVICTION_MS / 1000 + 2).toFixed(0)} s`],
    // Warm: computed from the rate; evicted: measured, since each lead's first visit.
    ['revisit interval (s): no-op / ceiling / collector', each((t) => (WARM_LEADS / rps(warm, t)).toFixed(2)), each((t) => (median(evicted.get(t)!.flatMap((x) => x.idle)) / 1000).toFixed(0))],
    ['requests to a lead idle > 10 s (evicted fraction)', ...both((runs) => each((t) => share(runs.get(t)!, 'evicted', 'revisits')))],
    ['ceiling objects that answered just constructed', ...both((runs) => share(runs.get(ceiling)!, 'cold', 'requests'))],
    ['requests/s: no-op / ceiling / collector', ...both((runs) => each((t) => rps(runs, t).toFixed(0)))],
    ['collector : ceiling (goal ≥ 0.9)', ...both((runs) => ratio(runs, collector, ceiling))],
    ['collector : no-op', ...both((runs) => ratio(runs, collector, noop))],
    ['ceiling : no-op', ...both((runs) => ratio(runs, ceiling, noop))],
    ...targets.map((t) => [`${t.name} latency p50 / p99 (ms)`, ...both((runs) => lat(runs, t))]),
  ]);
  report(`new visitors (first batch of each of ${ROUNDS * EVICTED_LEADS}, a new Durable Object each; one pass per target)`, [
    ['requests/s: no-op / ceiling / collector', each((t) => firstVisits.get(t)!.rps.toFixed(0))],
    ['collector : ceiling', (firstVisits.get(collector)!.rps / firstVisits.get(ceiling)!.rps).toFixed(2)],
  ]);
  report(`one lead's history (collector, secret key, single-event batches, alternating, medians of ${PAIRS})`, [
    ['one event, lead with 10 events (ms)', median(perSmall).toFixed(2)],
    ['one event, lead with 100,000 events (ms)', median(perBig).toFixed(2)],
    ['ratio 100,000 : 10 (goal ≤ 1.5)', (median(perBig) / median(perSmall)).toFixed(2)],
    ['in-order event, lead with 100,000 events over a year (ms)', median(inOrder).toFixed(2)],
    ['6-day-late event, same lead (ms)', median(late).toFixed(2)],
    ['ratio late : in-order (goal ≤ 1.5)', (median(late) / median(inOrder)).toFixed(2)],
    [`storage after a typical year (${year.events} events), bytes`, String(year.storageBytes)],
    ['storage per event, bytes (goal ≤ 300)', (year.storageBytes / year.events).toFixed(0)],
    [`  a lead with ${smallStorage.events} events, bytes`, String(smallStorage.storageBytes)],
    [`  the same year in the ceiling's bare events table (${bare.events} events), bytes per event`, (bare.storageBytes / bare.events).toFixed(0)],
  ]);
} finally {
  for (const l of started) l.stop();
}

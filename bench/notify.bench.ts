/**
 * Notifications and the lead index on the local runtime (wrangler dev / workerd via scripts/local-collector.ts),
 * with a teams file selected by LEADLEVEL_TEAMS_FILE that routes Hot and Very Hot to a webhook on a loopback
 * receiver in this process (test/e2e/receiver.ts).
 * 1. Latency from a level change to its receiver: leads known and Cold, each pushed into Very Hot by one batch (a
 *    demo request, secret key); from the batch's answer to the signed webhook's arrival (verified), p50 / p99.
 * 2. The index write a level change costs, as a ratio to the ingest it rides on: the same batch (a 200-second
 *    pricing read) into a Cold lead, which turns Hot (an index row and a notification through the outbox), and
 *    into a lead already Hot, which stays Hot (scores move: the row is refreshed, coalesced); alternating, one
 *    at a time, then the same in bursts of 8 concurrent batches, where the outbox's deliveries compete too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { startLocal, type Local } from '../scripts/local-collector.js';
import { startReceiver, type Received } from '../test/e2e/receiver.js';
import { DEV_WEBHOOK_SECRET } from '../worker/notify/webhook.js';
import { mid, post } from './load.js';
import { median, percentile, report } from './report.js';

const N = Number(process.env.BENCH_NOTIFY ?? 100);
const PAIRS = Number(process.env.BENCH_INDEX_PAIRS ?? 150);
const BURST = 8;

/** When each lead's first signed webhook arrived, and its waiters. */
const arrivals = new Map<string, number>();
const waiters = new Map<string, (t: number) => void>();
const wh = new Webhook(DEV_WEBHOOK_SECRET);
function onReceive(r: Received) {
  const t = performance.now();
  const body = wh.verify(r.body, r.headers as Record<string, string>) as { data: { lead: { id: string } } };
  const id = body.data.lead.id;
  if (arrivals.has(id)) return;
  arrivals.set(id, t);
  waiters.get(id)?.(t);
}
const arrival = (id: string, timeoutMs = 30_000) =>
  arrivals.has(id)
    ? Promise.resolve(arrivals.get(id)!)
    : new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no webhook for ${id} in ${timeoutMs} ms`)), timeoutMs);
        waiters.set(id, (t) => (clearTimeout(timer), resolve(t)));
      });

const pageView = (userId: string) => ({ type: 'page', userId, messageId: mid(), properties: { path: '/features' } });
const pricingRead = (userId: string) => ({ type: 'track', userId, messageId: mid(), event: 'Page Engaged', properties: { path: '/pricing', seconds: 200 } });
const demoRequest = (userId: string) => ({ type: 'track', userId, messageId: mid(), event: 'Form Submitted', properties: { form: 'Demo', kind: 'demo_request' } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const receiver = await startReceiver({ onReceive });
const dir = mkdtempSync(join(tmpdir(), 'leadlevel-notify-bench-'));
const teams = join(dir, 'bench.teams.json');
writeFileSync(
  teams,
  JSON.stringify({
    teams: [{ id: 'bench', name: 'Benchmark receiver', destinations: [{ type: 'webhook', url: `${receiver}/hooks/bench` }] }],
    routes: [{ when: { level: ['hot', 'very_hot'] }, team: 'bench' }],
  }),
);
const local: Local = await startLocal([], { LEADLEVEL_TEAMS_FILE: teams });
try {
  const url = local.url;
  const tag = `${process.pid}-${Date.now().toString(36)}`;

  // 1. Latency. Every lead exists (Cold) before it is timed, and each is timed alone.
  const latency: number[] = [];
  const batchMs: number[] = [];
  const leads = Array.from({ length: N }, (_, i) => `notify-${tag}-${i}`);
  for (const id of leads) await post(url, [pageView(id)]);
  for (let i = 0; i < 10; i++) await post(url, [demoRequest(`warmup-${tag}-${i}`)]), await arrival(`warmup-${tag}-${i}`);
  for (const id of leads) {
    const t0 = performance.now();
    const ms = await post(url, [demoRequest(id)]);
    const answered = t0 + ms;
    batchMs.push(ms);
    latency.push((await arrival(id)) - answered);
  }
  report(`notification latency: level change to the receiver (local, ${N} leads each Cold → Very Hot by one batch, one at a time)`, [
    ['', 'p50 (ms)', 'p99 (ms)'],
    ['batch answer → signed webhook arrives', median(latency).toFixed(1), percentile(latency, 99).toFixed(1)],
    ['the batch itself (request → answer)', median(batchMs).toFixed(1), percentile(batchMs, 99).toFixed(1)],
  ]);

  // 2. Index write cost. Cold leads to turn Hot, and leads already Hot (their notifications delivered) to stay Hot.
  const total = PAIRS + 4 * BURST * 8;
  const cold = Array.from({ length: total }, (_, i) => `idx-cold-${tag}-${i}`);
  const hot = Array.from({ length: total }, (_, i) => `idx-hot-${tag}-${i}`);
  for (const id of [...cold, ...hot]) await post(url, [pageView(id)]);
  for (const id of hot) await post(url, [pricingRead(id)]);
  for (const id of hot) await arrival(id);
  await sleep(3_000); // the index refreshes of the setup are written
  const changing: number[] = [];
  const steady: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    changing.push(await post(url, [pricingRead(cold[i])]));
    steady.push(await post(url, [pricingRead(hot[i])]));
  }
  // Bursts: BURST batches at once, alternating kinds burst by burst; batches per second of each kind.
  const rate = { changing: [] as number[], steady: [] as number[] };
  let next = PAIRS;
  for (let round = 0; round < 8; round++) {
    for (const kind of ['changing', 'steady'] as const) {
      const ids = (kind === 'changing' ? cold : hot).slice(next, next + BURST * 4);
      const t0 = performance.now();
      for (let k = 0; k < ids.length; k += BURST) await Promise.all(ids.slice(k, k + BURST).map((id) => post(url, [pricingRead(id)])));
      rate[kind].push(ids.length / ((performance.now() - t0) / 1000));
    }
    next += BURST * 4;
  }
  const ratio = median(changing) / median(steady);
  report(`index write per level change (same batch: a 200 s pricing read; ${PAIRS} pairs one at a time, then ${8} rounds of ${BURST * 4} in bursts of ${BURST})`, [
    ['', 'p50 (ms)', 'p99 (ms)', 'batches/s (bursts)'],
    ['Cold → Hot (index row + notification in the outbox)', median(changing).toFixed(1), percentile(changing, 99).toFixed(1), median(rate.changing).toFixed(0)],
    ['Hot stays Hot (ingest only; row refreshed, coalesced)', median(steady).toFixed(1), percentile(steady, 99).toFixed(1), median(rate.steady).toFixed(0)],
    ['level change : ingest alone', ratio.toFixed(2), (percentile(changing, 99) / percentile(steady, 99)).toFixed(2), (median(rate.steady) / median(rate.changing)).toFixed(2)],
  ]);
} catch (err) {
  throw new Error(`${(err as Error).message}\nthe collector's log ends:\n${local.log().slice(-3000)}`);
} finally {
  local.stop();
  await local.exited;
  rmSync(dir, { recursive: true, force: true });
}

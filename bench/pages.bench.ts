/**
 * Edge personalization cost: the same page, for a known (hot) visitor, served rewritten by one local instance
 * and unrewritten (EDGE_PERSONALIZATION=off) by another, alternately. Goal: rewritten ≤ 1.3× unrewritten.
 */
import { startLocal, type Local } from '../scripts/local-collector.js';
import { median, percentile, report } from './report.js';

const N = Number(process.env.BENCH_PAGES ?? 400);
const CONCURRENCY = 4;

async function visitor(url: string): Promise<string> {
  const aid = `bench-visitor-${process.pid}`;
  const batch = [
    { type: 'page', anonymousId: aid, properties: { path: '/pricing' } },
    { type: 'track', anonymousId: aid, event: 'Page Engaged', properties: { path: '/pricing', seconds: 200 } },
  ];
  const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { Origin: 'http://localhost:1', 'Content-Type': 'text/plain' }, body: JSON.stringify({ writeKey: 'pk_demo', batch }) });
  if (!res.ok) throw new Error(`seeding the visitor failed: ${res.status}`);
  return aid;
}

async function run(url: string, aid: string, n: number): Promise<number[]> {
  const lat: number[] = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (i++ < n) {
        const t0 = performance.now();
        const res = await fetch(`${url}/pricing`, { headers: { Cookie: `ll_aid=${aid}` } });
        await res.text();
        if (!res.ok) throw new Error(`page failed: ${res.status}`);
        lat.push(performance.now() - t0);
      }
    }),
  );
  return lat;
}

let on: Local | undefined;
let off: Local | undefined;
try {
  [on, off] = await Promise.all([startLocal(), startLocal(['--var', 'EDGE_PERSONALIZATION:off'])]);
  const [aidOn, aidOff] = await Promise.all([visitor(on.url), visitor(off.url)]);
  await run(on.url, aidOn, 50);
  await run(off.url, aidOff, 50);
  const rewritten: number[] = [];
  const plain: number[] = [];
  for (let r = 0; r < 4; r++) {
    rewritten.push(...(await run(on.url, aidOn, N / 4)));
    plain.push(...(await run(off.url, aidOff, N / 4)));
  }
  const html = await (await fetch(`${on.url}/pricing`)).text();
  report(`edge personalization (GET /pricing, ${(html.length / 1024).toFixed(1)} KB, hot visitor, ${CONCURRENCY} concurrent)`, [
    ['rewritten p50 / p99 (ms)', `${median(rewritten).toFixed(2)} / ${percentile(rewritten, 99).toFixed(2)}`],
    ['unrewritten p50 / p99 (ms)', `${median(plain).toFixed(2)} / ${percentile(plain, 99).toFixed(2)}`],
    ['ratio rewritten : unrewritten, p50 (goal ≤ 1.3)', (median(rewritten) / median(plain)).toFixed(2)],
  ]);
} finally {
  on?.stop();
  off?.stop();
}

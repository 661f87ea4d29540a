/**
 * The insights (GET /v1/insights/levels, /v1/insights/engagement-index) and the work queue on the D1 index, with
 * 1,000 indexed leads and then 100,000 (each with three to four level changes over 90 days, a source, a medium
 * and a campaign), on one local instance; the figure that matters is the ratio of the two. Rows are written
 * straight into the local D1 (bench/local-index.ts). Baseline in the same run: `GET /health`.
 */
import { atTwoSizes, seedInsights as seed, time } from './local-index.js';

const N = Number(process.env.BENCH_INSIGHTS ?? 40);
const START = Date.now() - 90 * 86_400_000;

const from = new Date(START).toISOString();
const QUERIES: [string, string][] = [
  ['levels, 90 days by day', `/v1/insights/levels?from=${from}&interval=day`],
  ['levels, 90 days by week', `/v1/insights/levels?from=${from}&interval=week`],
  ['engagement index by source, 90 days by day', `/v1/insights/engagement-index?by=source&from=${from}&interval=day`],
  ['engagement index by campaign, 30 days', '/v1/insights/engagement-index?by=campaign'],
  ['work queue, priority, first page of 50', '/v1/leads?order=priority&limit=50'],
];

async function measure(url: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>([['GET /health (baseline)', []]]);
  for (const [name] of QUERIES) out.set(name, []);
  for (let round = 0; round < 4; round++) {
    out.get('GET /health (baseline)')!.push(...(await time(url, '/health', N / 4)));
    for (const [name, path] of QUERIES) out.get(name)!.push(...(await time(url, path, N / 4)));
  }
  return out;
}

await atTwoSizes('leadlevel-insights-', seed, QUERIES[0][1], measure, `insights and the queue on the D1 index (secret key, one request at a time, ${N} each, alternating)`);

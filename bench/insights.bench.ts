/**
 * The insights (GET /v1/insights/levels, /v1/insights/engagement-index) and the work queue on the D1 index, with
 * 1,000 indexed leads and then 100,000 (each with three to four level changes over 90 days, a source, a medium
 * and a campaign), on one local instance; the figure that matters is the ratio of the two. Rows are written
 * straight into the local D1 (bench/local-index.ts). Baseline in the same run: `GET /health`.
 */
import { atTwoSizes, execute, time } from './local-index.js';

const N = Number(process.env.BENCH_INSIGHTS ?? 40);
const NOW = Date.now();
const DAY = 86_400_000;
const START = NOW - 90 * DAY;

/** Leads `from`…`to` with their level history: cold when first seen, warm a few days later, some engaged or hotter. */
function seed(dir: string, from: number, to: number): void {
  const level = `CASE WHEN i % 100 < 45 THEN 1 WHEN i % 100 < 80 THEN 2 WHEN i % 100 < 95 THEN 3 ELSE 4 END`;
  execute(
    dir,
    `INSERT INTO leads (key, id, email, user_id, level, level_rank, level_since, engagement_score, lead_score, momentum, stage, do_not_contact, last_activity_at,
        model, model_version, updated_at, version, first_seen_at, source, medium, campaign, referrer, converted_at, opportunity_at)
      WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
      SELECT 'e:lead' || i || '@bench.example', 'lead' || i || '@bench.example', 'lead' || i || '@bench.example', NULL,
        CASE ${level} WHEN 1 THEN 'warm' WHEN 2 THEN 'engaged' WHEN 3 THEN 'hot' ELSE 'very_hot' END, ${level}, ${START} + (i * 7919 % 80) * ${DAY} + 3 * ${DAY},
        (i * 7919) % 120, (i * 104729) % 200, ((i * 31) % 41) - 20, NULL, 0, ${START} + (i * 7919 % 80) * ${DAY} + 5 * ${DAY}, 'b2b-default', 1, ${NOW}, 1,
        ${START} + (i * 7919 % 80) * ${DAY},
        CASE i % 6 WHEN 0 THEN 'google' WHEN 1 THEN 'linkedin' WHEN 2 THEN 'newsletter' WHEN 3 THEN 'www.google.com' WHEN 4 THEN 'direct' ELSE 'www.g2.com' END,
        CASE i % 6 WHEN 0 THEN 'cpc' WHEN 1 THEN 'paid-social' WHEN 2 THEN 'email' WHEN 4 THEN 'none' ELSE 'referral' END,
        CASE WHEN i % 6 < 3 THEN 'campaign-' || (i % 17) END, NULL,
        CASE WHEN i % 40 = 0 THEN ${START} + (i * 7919 % 80) * ${DAY} + 8 * ${DAY} END, CASE WHEN i % 40 = 0 THEN ${START} + (i * 7919 % 80) * ${DAY} + 8 * ${DAY} END
      FROM n`,
  );
  const range = `key >= 'e:lead' AND first_seen_at IS NOT NULL AND CAST(substr(key, 7, instr(key, '@') - 7) AS INTEGER) BETWEEN ${from} AND ${to}`;
  execute(
    dir,
    `INSERT INTO level_changes (lead_key, at, until, from_level, to_level, to_rank, next_rank, reason)
       SELECT key, first_seen_at, first_seen_at + 3 * ${DAY}, '', 'cold', 0, 1, 'start' FROM leads WHERE ${range}
       UNION ALL SELECT key, first_seen_at + 3 * ${DAY}, CASE WHEN level_rank > 1 THEN first_seen_at + 6 * ${DAY} END, 'cold', 'warm', 1, CASE WHEN level_rank > 1 THEN level_rank END, 'floor' FROM leads WHERE ${range}
       UNION ALL SELECT key, first_seen_at + 6 * ${DAY}, NULL, 'warm', level, level_rank, NULL, 'tier' FROM leads WHERE ${range} AND level_rank > 1`,
  );
}

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

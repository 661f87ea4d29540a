/**
 * Shared by the benchmarks on the D1 index (queue.bench.ts, insights.bench.ts): index rows written straight into
 * the local D1 database by `wrangler d1 execute` while no instance holds it, a local instance restarted on them,
 * and timing of GET requests one at a time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, percentile, report } from './report.js';
import { startLocal, type Local } from '../scripts/local-collector.js';

export const SECRET = { Authorization: 'Bearer sk_dev' };

/** Runs SQL on the local index under `dir`. */
export function execute(dir: string, sql: string): void {
  const r = spawnSync('npx', ['wrangler', 'd1', 'execute', 'leadlevel-index', '--local', '--persist-to', dir, '--command', sql.replace(/\s+/g, ' ')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`seeding the index failed:\n${r.stdout}\n${r.stderr}`);
}

export async function time(url: string, path: string, n: number, headers: Record<string, string> = SECRET): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url + path, { headers });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`);
    lat.push(performance.now() - t0);
  }
  return lat;
}

/** A local instance on `dir`'s data, seeded by `seed` while no instance holds the database; warmed on `warm`. */
export async function restartWith(dir: string, seed: () => void, warm: string, previous?: Local): Promise<Local> {
  if (previous) {
    previous.stop();
    await previous.exited;
    await new Promise((r) => setTimeout(r, 1_000)); // workerd goes after the script that started it
  }
  seed();
  const local = await startLocal([], {}, dir);
  await time(local.url, warm, 20);
  return local;
}

/**
 * The whole benchmark: a fresh instance, `seed(dir, 1, 1000)`, `measure`, then rows up to 100,000, `measure` again,
 * and the table of both with their ratio and each figure against the baseline (`GET /health`, in `measure`'s map).
 */
export async function atTwoSizes(prefix: string, seed: (dir: string, from: number, to: number) => void, warm: string, measure: (url: string) => Promise<Map<string, number[]>>, title: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let local: Local | undefined;
  try {
    // The first start applies the index's migrations.
    local = await startLocal([], {}, dir);
    local = await restartWith(dir, () => seed(dir, 1, 1_000), warm, local);
    const small = await measure(local.url);
    local = await restartWith(dir, () => seed(dir, 1_001, 100_000), warm, local);
    const big = await measure(local.url);
    const base = median(big.get('GET /health (baseline)')!);
    const rows: string[][] = [['', 'p50 / p99 at 1,000 (ms)', 'p50 / p99 at 100,000 (ms)', '100,000 : 1,000', ': baseline']];
    for (const [name, lat] of big) {
      const s = small.get(name) ?? [];
      if (!lat.length) continue;
      // A list with one page at 1,000 rows has no next page to compare there.
      const at1k = s.length ? `${median(s).toFixed(1)} / ${percentile(s, 99).toFixed(1)}` : '(one page)';
      rows.push([name, at1k, `${median(lat).toFixed(1)} / ${percentile(lat, 99).toFixed(1)}`, s.length ? (median(lat) / median(s)).toFixed(2) : '', (median(lat) / base).toFixed(2)]);
    }
    report(title, rows);
  } catch (err) {
    console.error(local?.log().slice(-3000));
    throw err;
  } finally {
    local?.stop();
    await local?.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const NOW = Date.now();
const DAY = 86_400_000;
const START = NOW - 90 * DAY;

/**
 * Leads `from`…`to` with their level history (insights.bench.ts, dashboard.bench.ts): cold when first seen, warm a
 * few days later, some engaged or hotter, each with a source, a medium and a campaign.
 */
export function seedInsights(dir: string, from: number, to: number): void {
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


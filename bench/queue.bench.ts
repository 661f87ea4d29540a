/**
 * The work queue on the D1 lead index: `GET /v1/leads` as an SDR opens it (priority order, a level filter, a
 * search by email prefix, the next page), with 1,000 index rows and then with 100,000, on one local instance.
 * Rows are written straight into the local D1 database by one `wrangler d1 execute` (a recursive query) while
 * the instance is stopped, so the seeding takes seconds instead of 100,000 leads' worth of ingest. Baseline in the same run: `GET /health`, a
 * request that reaches the Worker and touches no storage.
 */
import { atTwoSizes, execute, SECRET, time } from './local-index.js';

const N = Number(process.env.BENCH_QUEUE ?? 200);
const LEVELS = ['cold', 'warm', 'engaged', 'hot', 'very_hot'];

/** Index rows `from`…`to` (1-based): levels, scores and activity spread as a real population would be. */
function seed(dir: string, from: number, to: number): void {
  const sql = `INSERT INTO leads (key, id, email, user_id, level, level_rank, level_since, engagement_score, lead_score, momentum, stage,
      do_not_contact, last_activity_at, model, model_version, updated_at, version)
    WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
    SELECT 'e:lead' || i || '@bench.example', 'lead' || i || '@bench.example', 'lead' || i || '@bench.example', NULL,
      CASE WHEN i % 100 < 55 THEN 'cold' WHEN i % 100 < 80 THEN 'warm' WHEN i % 100 < 92 THEN 'engaged' WHEN i % 100 < 98 THEN 'hot' ELSE 'very_hot' END,
      CASE WHEN i % 100 < 55 THEN 0 WHEN i % 100 < 80 THEN 1 WHEN i % 100 < 92 THEN 2 WHEN i % 100 < 98 THEN 3 ELSE 4 END,
      1700000000000 + i * 1000, (i * 7919) % 120, (i * 104729) % 200, ((i * 31) % 41) - 20, NULL,
      CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END, 1700000000000 + ((i * 15485863) % 7776000) * 1000, 'b2b-default', 1, 1700000000000, 1
    FROM n`;
  execute(dir, sql);
}

const QUERIES: [string, string][] = [
  ['priority, first page of 50', '/v1/leads?order=priority&limit=50'],
  ['level=hot,very_hot, priority', '/v1/leads?level=hot,very_hot&order=priority&limit=50'],
  ['q= email prefix', '/v1/leads?q=lead42&limit=50'],
  ['order=recent, contactable', '/v1/leads?order=recent&contactable=true&limit=50'],
];

/** Each query, its second page too, against the baseline, alternating. */
async function measure(url: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>([['GET /health (baseline)', []]]);
  for (const [name] of QUERIES) out.set(name, []), out.set(`${name}, next page`, []);
  const next = new Map<string, string>();
  for (const [name, path] of QUERIES) {
    const page = (await (await fetch(url + path, { headers: SECRET })).json()) as { leads: unknown[]; nextCursor: string | null };
    if (!page.leads.length) throw new Error(`${path} listed nothing`);
    if (page.nextCursor) next.set(name, `${path}&cursor=${encodeURIComponent(page.nextCursor)}`);
  }
  for (let round = 0; round < 4; round++) {
    out.get('GET /health (baseline)')!.push(...(await time(url, '/health', N / 4)));
    for (const [name, path] of QUERIES) {
      out.get(name)!.push(...(await time(url, path, N / 4)));
      if (next.has(name)) out.get(`${name}, next page`)!.push(...(await time(url, next.get(name)!, N / 4)));
    }
  }
  return out;
}

await atTwoSizes('leadlevel-queue-', seed, QUERIES[0][1], measure, `work queue on the D1 index (GET /v1/leads, secret key, one request at a time, ${N} each, alternating)`);

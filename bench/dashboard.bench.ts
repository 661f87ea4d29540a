/**
 * The operator dashboard (/app) on the D1 index at 1,000 and at 100,000 leads (bench/local-index.ts's population,
 * the engaged ones in the SDRs' queue and the hot ones in the account executives'), signed in as an operator:
 * the overview, the queue (all leads and one team's), the live-update poll; each as a ratio to `GET /health` in
 * the same run and the 100,000 : 1,000 ratio. Then the weight of the overview as a browser loads it: its HTML, the
 * scripts and the stylesheets, gzip.
 */
import { gzipSync } from 'node:zlib';
import { report } from './report.js';
import { atTwoSizes, execute, seedInsights, time } from './local-index.js';

const N = Number(process.env.BENCH_DASHBOARD ?? 40);

function seed(dir: string, from: number, to: number): void {
  seedInsights(dir, from, to);
  execute(
    dir,
    `INSERT OR IGNORE INTO lead_teams (team, lead_key) SELECT CASE WHEN level_rank = 2 THEN 'sdr' ELSE 'ae' END, key FROM leads
      WHERE level_rank >= 2 AND key >= 'e:lead' AND CAST(substr(key, 7, instr(key, '@') - 7) AS INTEGER) BETWEEN ${from} AND ${to}`,
  );
}

const PAGES: [string, string][] = [
  ['overview', '/app'],
  ['queue, all leads, first page', '/app/queue'],
  ['queue, team sdr, first page', '/app/queue?team=sdr'],
  ['live-update poll', '/app/api/changes?since=0.0'],
];

async function signIn(url: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/app/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: url }, body: 'secret=sk_dev' });
  const cookie = res.headers.get('Set-Cookie')?.split(';')[0];
  if (res.status !== 303 || !cookie) throw new Error(`signing in failed: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return { Cookie: cookie };
}

let weighed = false;

/** The overview's HTML and every file it links, each gzip-compressed as a CDN would serve it. */
async function weigh(url: string, cookie: Record<string, string>): Promise<void> {
  const html = await (await fetch(`${url}/app`, { headers: cookie })).text();
  const links = [...html.matchAll(/(?:src|href)="(\/app\/static\/[^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
  const rows: string[][] = [['', 'bytes', 'gzip']];
  let raw = html.length;
  let gz = gzipSync(html).length;
  rows.push(['overview HTML (100,000 leads)', String(html.length), String(gzipSync(html).length)]);
  for (const path of links) {
    const body = await (await fetch(url + path)).text();
    raw += body.length;
    gz += gzipSync(body).length;
    rows.push([path.replace(/\?.*/, ''), String(body.length), String(gzipSync(body).length)]);
  }
  rows.push(['total', String(raw), String(gz)]);
  report('dashboard page weight (the overview as a browser loads it)', rows);
}

async function measure(url: string): Promise<Map<string, number[]>> {
  const cookie = await signIn(url);
  const out = new Map<string, number[]>([['GET /health (baseline)', []]]);
  for (const [name] of PAGES) out.set(name, []);
  for (let round = 0; round < 4; round++) {
    out.get('GET /health (baseline)')!.push(...(await time(url, '/health', N / 4)));
    for (const [name, path] of PAGES) out.get(name)!.push(...(await time(url, path, N / 4, cookie)));
  }
  // Weighed once, at the larger population (the second call).
  if (weighed) await weigh(url, cookie);
  weighed = true;
  return out;
}

await atTwoSizes('leadlevel-dashboard-', seed, '/health', measure, `the dashboard on the D1 index (signed in, one request at a time, ${N} each, alternating)`);

/**
 * Model versions on one local instance: the impact preview of a draft and the rescoring of every lead on
 * publish (a rollback is the same run), each a leadlevel-models Workflow over the lead directory, timed per
 * 10,000 leads. Baseline in the same run: the Reindex workflow over the same leads (the same walk, each lead
 * writing its index row and nothing else), so the ratio is the cost of scoring whole histories again, not of
 * this machine. BENCH_MODELS leads (default 1,000; the figure per 10,000 is extrapolated from them, the walk
 * being linear in leads), each with 12 events over a fortnight.
 */
import { startLocal, type Local } from '../scripts/local-collector.js';
import { B2B_ENGAGEMENT, B2B_RULES } from '../shared/models/b2b-default.js';
import { report } from './report.js';

const SECRET = { Authorization: 'Bearer sk_dev', 'Content-Type': 'application/json' };
const N = Number(process.env.BENCH_MODELS ?? 1_000);
const EVENTS = 12;
const DAY = 86_400_000;
const PATHS = ['/', '/blog/a', '/blog/b', '/pricing', '/docs/start', '/compare/x', '/customers'];

async function api(url: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(url + path, { method: body === undefined ? 'GET' : 'POST', headers: SECRET, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

async function seed(url: string): Promise<void> {
  const now = Date.now();
  const per = 40; // leads per request: 480 events, well under the batch size limit
  for (let from = 0; from < N; from += per) {
    const batch = [];
    for (let i = from; i < Math.min(N, from + per); i++) {
      for (let e = 0; e < EVENTS; e++) {
        const at = new Date(now - 14 * DAY + ((i * 7919 + e * 104729) % (14 * DAY))).toISOString();
        batch.push({ type: 'page', userId: `bench-${i}`, messageId: `m-${i}-${e}`, timestamp: at, properties: { path: PATHS[(i + e * 3) % PATHS.length] } });
      }
      if (i % 10 === 0) batch.push({ type: 'track', userId: `bench-${i}`, messageId: `won-${i}`, event: 'Deal Won', properties: {} });
    }
    await api(url, '/v1/batch', { batch });
  }
}

/** Starts a run, polls it to the end, answers its wall time in ms and its last status. */
async function timed(url: string, start: string, statusOf: (r: any) => string): Promise<{ ms: number; status: any }> {
  const t0 = performance.now();
  const started = await api(url, start, {});
  for (;;) {
    const s = await api(url, statusOf(started));
    if (s.status === 'complete') return { ms: performance.now() - t0, status: s };
    if (s.status === 'errored' || s.status === 'terminated') throw new Error(`${start}: ${s.status} ${JSON.stringify(s.error)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const reindex = (url: string) => timed(url, '/v1/admin/reindex', (r) => r.status);

let local: Local | undefined;
try {
  local = await startLocal();
  const url = local.url;
  await seed(url);
  // Every lead registered in the directory (through its outbox) before anything is timed.
  for (let i = 0; ; i++) {
    const r = await reindex(url);
    if (r.status.progress.reindexed + r.status.progress.queued >= N) break;
    if (i > 30) throw new Error(`only ${r.status.progress.reindexed} of ${N} leads registered`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const seedVersion = (await api(url, '/v1/models')).published.version;
  const draft = await api(url, '/v1/models', {
    model: { extends: 'b2b-default', scoringTypes: [{ ...B2B_ENGAGEMENT, rules: B2B_RULES.map((r) => (r.id === 'other_page' ? { ...r, points: 40 } : r)) }] },
    note: 'bench',
  });
  const base = [await reindex(url), await reindex(url)];
  const preview = await timed(url, `/v1/models/${draft.version}/preview`, (r) => r.status);
  const publish = await timed(url, `/v1/models/${draft.version}/publish`, (r) => r.status);
  const rollback = await timed(url, `/v1/models/${seedVersion}/rollback`, (r) => r.status);
  base.push(await reindex(url));
  const baseMs = base.map((b) => b.ms).sort((a, b) => a - b)[1];
  const per10k = (ms: number) => ((ms / N) * 10_000) / 1000;
  const rows: string[][] = [['', `wall time, ${N} leads (s)`, 'per 10,000 leads (s, extrapolated)', ': reindex', 'leads']];
  rows.push(['reindex (baseline, median of 3)', (baseMs / 1000).toFixed(2), per10k(baseMs).toFixed(1), '1.00', String(base[1].status.progress.reindexed)]);
  rows.push(['preview of a draft', (preview.ms / 1000).toFixed(2), per10k(preview.ms).toFixed(1), (preview.ms / baseMs).toFixed(2), String(preview.status.result.leads)]);
  rows.push(['publish (every lead rescored)', (publish.ms / 1000).toFixed(2), per10k(publish.ms).toFixed(1), (publish.ms / baseMs).toFixed(2), `${publish.status.progress.rescored} rescored`]);
  rows.push(['rollback (every lead rescored)', (rollback.ms / 1000).toFixed(2), per10k(rollback.ms).toFixed(1), (rollback.ms / baseMs).toFixed(2), `${rollback.status.progress.rescored} rescored`]);
  report(`model versions (leadlevel-models workflow, ${N} leads × ${EVENTS} page views, 1 in 10 with a Deal Won, local workerd; ${preview.status.result.affected} leads move under the draft)`, rows);
} catch (err) {
  console.error(local?.log().slice(-3000));
  throw err;
} finally {
  local?.stop();
  await local?.exited;
}

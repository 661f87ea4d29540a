/**
 * A model version's background runs (README, "Model versions"), on the `leadlevel-models` Workflow: the walk
 * over every shard of the lead directory, a page of keys a durable step, a bounded number of leads at once.
 *
 * - `preview`: each lead answers its primary level now and under the version (its stored history scored again
 *   by the same engine, nothing written: `Lead.preview`); a step tallies the moves and the conversions.
 * - `publish`: each lead is rescored under the publication by its own object (`Lead.rescore`); the old version
 *   serves it until then. A later publication supersedes the run: it stops at its next page. After the walk, a
 *   sweep of the lead index takes the leads it still shows under another version (a lead created from a Worker
 *   whose cached publication lagged, after the walk passed its shard).
 *
 * A step records its shard's tally so far in D1 (`model_run_progress`, absolute values): a retried step
 * rewrites its row, and an interrupted run resumes from its recorded steps.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import type { ModelRef } from '../shared/api.js';
import { DIRECTORY_SHARDS, directoryShard } from './directory.js';
import type { Env } from './env.js';
import { leadStub, type PreviewAnswer, type RescoreResult } from './lead/index.js';
import { PUBLISHED_TTL_MS } from './models.js';
import { eachKeySettled, RETRIES, walkPages, type Page } from './walk.js';

/**
 * Keys per step. The Workflow's limit is on steps per instance (1,024 on the Workers Paid plan's defaults): at 500
 * keys a step, 100,000 leads are 200 pages, plus at most one short page per directory shard and the index sweep's
 * pages — about 240 steps. (`pageSize` 1–1,000 overrides it; 100 keys a step would be ~1,030 at 100,000.)
 */
export const RUN_PAGE = 500;
/** A lead whose rescore fails is retried with its page until this attempt of the step; then it is reported. */
const LEAD_ATTEMPTS = 3;
/** Failed keys a run lists (it counts them all). */
const FAILED_LISTED = 20;
const CONCURRENCY = 20;
/** The progress row of the publish run's sweep over the lead index (directory shards are 0…DIRECTORY_SHARDS-1). */
const INDEX_SWEEP = -1;

export interface ModelRunParams {
  kind: 'preview' | 'publish';
  version: number;
  /** Keys per step (1–1,000; default RUN_PAGE). */
  pageSize?: number;
}

/** One level's leads and how many of them converted. */
export interface LevelCount {
  leads: number;
  converted: number;
}

/** What a run counted so far, for one shard or all of them (absolute, JSON in D1). */
export interface Tally {
  pages: number;
  leads: number;
  /** Keys whose lead lives elsewhere now (merged away, erased). */
  gone: number;
  /** publish: leads rescored, and those already under the publication. */
  rescored: number;
  current: number;
  /** preview: `from>to` → leads. */
  moves: Record<string, number>;
  /** preview: per level, now and under the version. */
  now: Record<string, LevelCount>;
  draft: Record<string, LevelCount>;
  /** publish: a later publication took over; the run stopped. */
  superseded?: boolean;
  /** Leads that kept failing (their page's step retried them LEAD_ATTEMPTS times): counted, and the first few listed. */
  failed: number;
  failedKeys: string[];
}

export const emptyTally = (): Tally => ({ pages: 0, leads: 0, gone: 0, rescored: 0, current: 0, moves: {}, now: {}, draft: {}, failed: 0, failedKeys: [] });

function addLevel(to: Record<string, LevelCount>, level: string, n: LevelCount): void {
  const c = (to[level] ??= { leads: 0, converted: 0 });
  c.leads += n.leads;
  c.converted += n.converted;
}

export function addTally(a: Tally, b: Tally): Tally {
  const out: Tally = {
    ...a,
    pages: a.pages + b.pages,
    leads: a.leads + b.leads,
    gone: a.gone + b.gone,
    rescored: a.rescored + b.rescored,
    current: a.current + b.current,
    moves: { ...a.moves },
    now: {},
    draft: {},
    failed: (a.failed ?? 0) + (b.failed ?? 0),
    failedKeys: [...(a.failedKeys ?? []), ...(b.failedKeys ?? [])].slice(0, FAILED_LISTED),
  };
  for (const [k, n] of Object.entries(b.moves)) out.moves[k] = (out.moves[k] ?? 0) + n;
  for (const side of ['now', 'draft'] as const) for (const src of [a, b]) for (const [level, n] of Object.entries(src[side])) addLevel(out[side], level, n);
  if (a.superseded || b.superseded) out.superseded = true;
  return out;
}

export const runPageSize = (n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1_000 ? n : RUN_PAGE);

export class ModelRun extends WorkflowEntrypoint<Env, ModelRunParams> {
  override async run(event: Readonly<WorkflowEvent<ModelRunParams>>, step: WorkflowStep): Promise<Tally> {
    const { kind, version } = event.payload;
    const size = runPageSize(event.payload.pageSize);
    const run = event.instanceId;
    const ref = kind === 'publish' ? await step.do('publication', RETRIES, () => publicationOf(this.env.INDEX, run)) : null;
    let total = emptyTally();
    for (let shard = 0; shard < DIRECTORY_SHARDS; shard++) {
      const t = await walkPages(step, `shard ${shard}`, emptyTally(), (after, before, attempt) => runPage(this.env, run, version, ref, shard, after, size, before, attempt));
      total = addTally(total, t);
      if (total.superseded) return total;
    }
    if (ref) {
      // The sweep starts once every isolate's cached publication has expired: a lead created from a cache that
      // lagged this publication was created before now, and its index row shows its version.
      await step.sleep('published caches expire', PUBLISHED_TTL_MS + 1_000);
      const swept = await walkPages(step, 'index sweep', emptyTally(), (after, before, attempt) => runPage(this.env, run, version, ref, INDEX_SWEEP, after, size, before, attempt));
      total = addTally(total, { ...swept, leads: 0 });
    }
    return total;
  }
}

/** The publication a publish run carries out (recorded with the run by `publish`, worker/models.ts). */
async function publicationOf(db: D1Database, run: string): Promise<ModelRef> {
  const row = await db.prepare('SELECT seq, version FROM model_runs WHERE id = ?1').bind(run).first<{ seq: number | null; version: number }>();
  if (!row || row.seq === null) throw new Error(`publish run ${run} has no publication`);
  return { seq: row.seq, version: row.version };
}

/**
 * One step: a page of keys, each lead asked in turn (a bounded number at once). A lead that fails fails its page's
 * step, which the Workflow retries (the leads done already answer `current`, or the same preview); from the
 * LEAD_ATTEMPTS-th attempt on, what still fails is reported in the tally and the run goes on.
 */
async function runPage(env: Env, run: string, version: number, ref: ModelRef | null, shard: number, after: string, size: number, before: Tally, attempt: number): Promise<Page<Tally>> {
  const db = env.INDEX;
  let keys: string[];
  const t: Tally = { ...emptyTally(), pages: 1 };
  if (ref) {
    const latest = await db.prepare('SELECT MAX(seq) AS seq FROM model_publications').first<{ seq: number }>();
    if (latest && latest.seq > ref.seq) t.superseded = true;
  }
  if (t.superseded) keys = [];
  else if (shard === INDEX_SWEEP) {
    const { results } = await db.prepare('SELECT key FROM leads WHERE key > ?1 AND model_version != ?2 ORDER BY key LIMIT ?3').bind(after, version, size).all<{ key: string }>();
    keys = results.map((r) => r.key);
  } else keys = await directoryShard(env, shard).list(after, size);
  const settled = await eachKeySettled(keys, CONCURRENCY, (key): Promise<RescoreResult | PreviewAnswer | null> => (ref ? leadStub(env, key).rescore(ref) : leadStub(env, key).preview(version)));
  const failed = settled.filter((r) => !r.ok);
  if (failed.length && attempt < LEAD_ATTEMPTS) throw new Error(`${failed.length} of ${keys.length} leads failed (first: ${failed[0].key}: ${String((failed[0] as { error: unknown }).error)}); the page is retried`);
  t.failed = failed.length;
  t.failedKeys = failed.slice(0, FAILED_LISTED).map((r) => r.key);
  const answers = settled.flatMap((r) => (r.ok ? [r.value] : []));
  if (ref) {
    for (const r of answers as RescoreResult[]) t[r === 'gone' ? 'gone' : r]++;
    t.leads = t.rescored + t.current;
  } else {
    for (const r of answers as (PreviewAnswer | null)[]) {
      if (!r) {
        t.gone++;
        continue;
      }
      t.leads++;
      const key = `${r.from}>${r.to}`;
      t.moves[key] = (t.moves[key] ?? 0) + 1;
      // Conversion per level counts each lead at the level it converted at (else stands at), as the evidence does.
      addLevel(t.now, r.fromAtConversion ?? r.from, { leads: 1, converted: r.converted ? 1 : 0 });
      addLevel(t.draft, r.toAtConversion ?? r.to, { leads: 1, converted: r.converted ? 1 : 0 });
    }
  }
  const now = addTally(before, t);
  const more = !t.superseded && keys.length === size;
  await db
    .prepare(
      `INSERT INTO model_run_progress (run, shard, pages, done, tally, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (run, shard) DO UPDATE SET pages = excluded.pages, done = excluded.done, tally = excluded.tally, updated_at = excluded.updated_at`,
    )
    .bind(run, shard, now.pages, more ? 0 : 1, JSON.stringify(now), Date.now())
    .run();
  return { progress: now, last: keys[keys.length - 1] ?? null, more };
}

export interface RunView {
  id: string;
  kind: 'preview' | 'publish';
  version: number;
  seq: number | null;
  createdAt: string;
  status: string;
  error?: { name: string; message: string };
  progress: { shards: number; shardsDone: number; pages: number; leads: number; gone: number; failed: number; failedKeys: string[]; rescored?: number; current?: number; indexSwept?: boolean; superseded?: boolean };
  /** preview: the moves and conversion per level (partial until the status is `complete`). */
  result?: PreviewResult;
}

export interface PreviewResult {
  complete: boolean;
  leads: number;
  /** Leads whose level under the version differs from their level now. */
  affected: number;
  /** The matrix, as its non-empty cells: level now → level under the version. */
  moves: { from: string; to: string; leads: number }[];
  /** Per level (in the model's order): leads and conversions now and under the version. */
  conversion: { level: string; now: LevelCount & { rate: number | null }; draft: LevelCount & { rate: number | null } }[];
}

/** A run as its steps recorded it (one query over at most DIRECTORY_SHARDS + 1 rows). */
export async function runView(db: D1Database, run: { id: string; kind: 'preview' | 'publish'; version: number; seq: number | null; created_at: number }, status: InstanceStatus | null, levels: readonly string[]): Promise<RunView> {
  const { results } = await db.prepare('SELECT shard, done, tally FROM model_run_progress WHERE run = ?1').bind(run.id).all<{ shard: number; done: number; tally: string }>();
  let total = emptyTally();
  let shardsDone = 0;
  let indexSwept = false;
  for (const r of results) {
    const t = JSON.parse(r.tally) as Tally;
    if (r.shard === INDEX_SWEEP) {
      indexSwept = r.done === 1;
      total = addTally(total, { ...t, leads: 0 });
    } else {
      shardsDone += r.done;
      total = addTally(total, t);
    }
  }
  const state = status?.status ?? 'unknown';
  const view: RunView = {
    id: run.id,
    kind: run.kind,
    version: run.version,
    seq: run.seq,
    createdAt: new Date(run.created_at).toISOString(),
    status: state,
    ...(status?.error ? { error: { name: status.error.name, message: status.error.message } } : {}),
    progress: {
      shards: DIRECTORY_SHARDS,
      shardsDone,
      pages: total.pages,
      leads: total.leads,
      gone: total.gone,
      failed: total.failed,
      failedKeys: total.failedKeys,
      ...(run.kind === 'publish' ? { rescored: total.rescored, current: total.current, indexSwept, ...(total.superseded ? { superseded: true } : {}) } : {}),
    },
  };
  if (run.kind === 'preview') view.result = previewResult(total, levels, state === 'complete');
  return view;
}

const rate = (c: LevelCount | undefined): LevelCount & { rate: number | null } => ({ leads: c?.leads ?? 0, converted: c?.converted ?? 0, rate: c?.leads ? c.converted / c.leads : null });

export function previewResult(t: Tally, levels: readonly string[], complete: boolean): PreviewResult {
  const rank = (l: string) => (levels.indexOf(l) < 0 ? levels.length : levels.indexOf(l));
  const moves = Object.entries(t.moves)
    .map(([k, leads]) => {
      const [from, to] = k.split('>');
      return { from, to, leads };
    })
    .sort((a, b) => rank(a.from) - rank(b.from) || rank(a.to) - rank(b.to));
  const seen = [...new Set([...levels, ...Object.keys(t.now), ...Object.keys(t.draft)])];
  return {
    complete,
    leads: t.leads,
    affected: moves.filter((m) => m.from !== m.to).reduce((n, m) => n + m.leads, 0),
    moves,
    conversion: seen.map((level) => ({ level, now: rate(t.now[level]), draft: rate(t.draft[level]) })),
  };
}

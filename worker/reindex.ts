/**
 * Rebuilding the lead index from the lead objects (README, "Rebuilding the index"): a Workflow walks every shard
 * of the lead directory (worker/directory.ts) in pages, one step a page, and asks each lead on the page to write
 * its index row now (`Lead.reindex`: the row the normal path writes, through its outbox). Steps are idempotent:
 * a lead's row is a snapshot written under a newer outbox sequence each time, and the progress a step records
 * is absolute, so a step retried, or a run resumed after an interruption, rewrites rather than adds.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { DIRECTORY_SHARDS, directoryShard } from './directory.js';
import type { Env } from './env.js';
import { leadStub, type ReindexResult } from './lead/index.js';
import { eachKey, walkPages, type Page } from './walk.js';

/** Keys per step: 16 shards of 200 keys a step keep 100,000 leads within ~520 steps. */
export const REINDEX_PAGE = 200;
/** Leads asked at once inside a step. */
const CONCURRENCY = 20;

export interface ReindexParams {
  /** Keys per step (1–1,000; default REINDEX_PAGE). */
  pageSize?: number;
  /**
   * First walk the keys the D1 index still holds, so leads stored before the directory existed register
   * (loading a lead registers it): the backfill of a deployment upgraded from before the directory.
   */
  fromIndex?: boolean;
}

export interface ShardProgress {
  pages: number;
  reindexed: number;
  queued: number;
  gone: number;
}

export interface ReindexProgress extends ShardProgress {
  shards: number;
  shardsDone: number;
  /** With `fromIndex`: the keys of the D1 index walked first (each lead loaded, registered, its row rewritten). */
  fromIndex?: { pages: number; keys: number; done: boolean };
}

/** The progress row of the walk over the D1 index's keys (directory shards are 0…DIRECTORY_SHARDS-1). */
const INDEX_WALK = -1;


export const pageSizeOf = (n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1_000 ? n : REINDEX_PAGE);

export class Reindex extends WorkflowEntrypoint<Env, ReindexParams> {
  override async run(event: Readonly<WorkflowEvent<ReindexParams>>, step: WorkflowStep): Promise<ReindexProgress> {
    const size = pageSizeOf(event.payload?.pageSize);
    const total: ReindexProgress = { shards: DIRECTORY_SHARDS, shardsDone: 0, pages: 0, reindexed: 0, queued: 0, gone: 0 };
    const none: ShardProgress = { pages: 0, reindexed: 0, queued: 0, gone: 0 };
    if (event.payload?.fromIndex) {
      const walked = await walkPages(step, 'index', none, (after, before) => reindexPage(this.env, event.instanceId, INDEX_WALK, after, size, before));
      total.fromIndex = { pages: walked.pages, keys: walked.reindexed + walked.queued + walked.gone, done: true };
    }
    for (let shard = 0; shard < DIRECTORY_SHARDS; shard++) {
      const so = await walkPages(step, `shard ${shard}`, none, (after, before) => reindexPage(this.env, event.instanceId, shard, after, size, before));
      total.shardsDone++;
      total.pages += so.pages;
      total.reindexed += so.reindexed;
      total.queued += so.queued;
      total.gone += so.gone;
    }
    return total;
  }
}

/** Keys of the D1 index after `after`, in key order (its primary key). */
async function indexKeys(db: D1Database, after: string, size: number): Promise<string[]> {
  const { results } = await db.prepare('SELECT key FROM leads WHERE key > ?1 ORDER BY key LIMIT ?2').bind(after, size).all<{ key: string }>();
  return results.map((r) => r.key);
}

/** One step: a page of a shard's keys, each lead's row written, the shard's progress so far recorded. */
async function reindexPage(env: Env, run: string, shard: number, after: string, size: number, before: ShardProgress): Promise<Page<ShardProgress>> {
  const keys = shard === INDEX_WALK ? await indexKeys(env.INDEX, after, size) : await directoryShard(env, shard).list(after, size);
  const results: ReindexResult[] = await eachKey(keys, CONCURRENCY, (key) => leadStub(env, key).reindex(key));
  const count = (r: ReindexResult) => results.filter((x) => x === r).length;
  const now: ShardProgress = {
    pages: before.pages + 1,
    reindexed: before.reindexed + count('indexed'),
    queued: before.queued + count('queued'),
    gone: before.gone + count('gone'),
  };
  const more = keys.length === size;
  await env.INDEX.prepare(
    `INSERT INTO reindex_progress (run, shard, pages, reindexed, queued, gone, done, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (run, shard) DO UPDATE SET pages = excluded.pages, reindexed = excluded.reindexed, queued = excluded.queued,
       gone = excluded.gone, done = excluded.done, updated_at = excluded.updated_at`,
  )
    .bind(run, shard, now.pages, now.reindexed, now.queued, now.gone, more ? 0 : 1, Date.now())
    .run();
  return { progress: now, last: keys[keys.length - 1] ?? null, more };
}

/** A run's progress as its steps recorded it (one query over at most DIRECTORY_SHARDS rows). */
export async function reindexProgress(db: D1Database, run: string): Promise<ReindexProgress> {
  const { results } = await db
    .prepare('SELECT shard, pages, reindexed, queued, gone, done FROM reindex_progress WHERE run = ?1')
    .bind(run)
    .all<ShardProgress & { shard: number; done: number }>();
  const p: ReindexProgress = { shards: DIRECTORY_SHARDS, shardsDone: 0, pages: 0, reindexed: 0, queued: 0, gone: 0 };
  for (const r of results) {
    if (r.shard === INDEX_WALK) {
      p.fromIndex = { pages: r.pages, keys: r.reindexed + r.queued + r.gone, done: r.done === 1 };
      continue;
    }
    p.shardsDone += r.done;
    p.pages += r.pages;
    p.reindexed += r.reindexed;
    p.queued += r.queued;
    p.gone += r.gone;
  }
  return p;
}

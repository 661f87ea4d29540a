/**
 * The lead directory: the keys of every lead object that exists, so the D1 index can be rebuilt when it is lost
 * (Durable Object namespaces cannot be listed). A lead registers itself through its outbox (destination
 * `directory`: the registration commits with its first event and is retried like any other news); a merge
 * deregisters the ids that joined the receiver (through the receiver's outbox), an erasure its keys (directly,
 * as it unindexes them). Sharded by a stable hash of the key over SHARDS small SQLite objects, each one table.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from './env.js';

/** Fixed forever: a key's shard is hash(key) % SHARDS, and changing it would strand every registered key. */
export const DIRECTORY_SHARDS = 16;
/** The most keys one page of `list` returns. */
export const DIRECTORY_PAGE_MAX = 1_000;

export interface DirectoryNews {
  add?: string[];
  remove?: string[];
}

/** FNV-1a (32-bit) of the key's UTF-16 code units: stable across deployments and runtimes. */
export function shardOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % DIRECTORY_SHARDS;
}

export interface DirectoryRpc {
  apply(news: DirectoryNews): Promise<void>;
  list(afterKey: string, limit: number): Promise<string[]>;
  count(): Promise<number>;
}

export const directoryShard = (env: Env, shard: number) => env.DIRECTORY.getByName(`shard:${shard}`) as unknown as DirectoryRpc;

/** Applies news to every shard it touches (idempotent: adding a present key or removing an absent one is nothing). */
export async function applyDirectory(env: Env, news: DirectoryNews): Promise<void> {
  const byShard = new Map<number, Required<DirectoryNews>>();
  const of = (key: string) => {
    const s = shardOf(key);
    let n = byShard.get(s);
    if (!n) byShard.set(s, (n = { add: [], remove: [] }));
    return n;
  };
  for (const key of news.add ?? []) of(key).add.push(key);
  for (const key of news.remove ?? []) of(key).remove.push(key);
  await Promise.all([...byShard].map(([s, n]) => directoryShard(env, s).apply(n)));
}

/** One shard of the directory. */
export class Directory extends DurableObject<Env> implements DirectoryRpc {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec('CREATE TABLE IF NOT EXISTS leads (key TEXT PRIMARY KEY) WITHOUT ROWID');
  }

  /** Removes after adding: a key both added and removed in one news (a lead merged away at once) goes. */
  async apply(news: DirectoryNews): Promise<void> {
    for (const key of news.add ?? []) this.#sql.exec('INSERT INTO leads (key) VALUES (?) ON CONFLICT (key) DO NOTHING', key);
    for (const key of news.remove ?? []) this.#sql.exec('DELETE FROM leads WHERE key = ?', key);
  }

  /** Keys after `afterKey` in key order, at most `limit` (bounded by DIRECTORY_PAGE_MAX). */
  async list(afterKey: string, limit: number): Promise<string[]> {
    const n = Math.max(1, Math.min(DIRECTORY_PAGE_MAX, Math.floor(limit) || 1));
    return this.#sql.exec<{ key: string }>('SELECT key FROM leads WHERE key > ? ORDER BY key LIMIT ?', afterKey, n).toArray().map((r) => r.key);
  }

  async count(): Promise<number> {
    return this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM leads').one().n;
  }
}

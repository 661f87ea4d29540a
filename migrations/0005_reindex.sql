-- Rebuilding the index (worker/reindex.ts): each run's progress per directory shard, as the Reindex workflow
-- records it after every page (absolute values, so a retried step rewrites the same row instead of adding).
CREATE TABLE IF NOT EXISTS reindex_progress (
  run TEXT NOT NULL,
  shard INTEGER NOT NULL,
  pages INTEGER NOT NULL,
  reindexed INTEGER NOT NULL,
  queued INTEGER NOT NULL,
  gone INTEGER NOT NULL,
  done INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (run, shard)
);

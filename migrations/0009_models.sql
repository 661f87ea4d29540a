-- Model versions (worker/models.ts, README "Model versions"): every model the deployment has known. The bundled
-- leadlevel.model.json is stored on first use (source 'file', one row per distinct fingerprint); drafts come from
-- POST /v1/models (source 'api'). Exactly one version is published at a time.
CREATE TABLE IF NOT EXISTS models (
  version INTEGER PRIMARY KEY,
  model_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'retired')),
  source TEXT NOT NULL CHECK (source IN ('file', 'api')),
  note TEXT,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  published_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS models_file ON models (fingerprint) WHERE source = 'file';
CREATE UNIQUE INDEX IF NOT EXISTS models_published ON models (status) WHERE status = 'published';

-- Every publication, in order (a rollback is a publication of an earlier version): `seq` orders them, so a lead
-- told of an older publication by a Worker whose cache lags never moves back.
CREATE TABLE IF NOT EXISTS model_publications (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  version INTEGER NOT NULL,
  at INTEGER NOT NULL,
  by TEXT NOT NULL,
  run TEXT
);

-- Previews and rescoring runs (worker/model-run.ts), and their progress per directory shard as each step
-- records it (absolute values, so a retried step rewrites its row instead of adding).
CREATE TABLE IF NOT EXISTS model_runs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('preview', 'publish')),
  version INTEGER NOT NULL,
  seq INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS model_runs_latest ON model_runs (version, kind, created_at);
CREATE TABLE IF NOT EXISTS model_run_progress (
  run TEXT NOT NULL,
  shard INTEGER NOT NULL,
  pages INTEGER NOT NULL,
  done INTEGER NOT NULL,
  tally TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (run, shard)
);

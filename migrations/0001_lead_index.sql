-- The lead index: one row per lead, written through each lead's outbox.
CREATE TABLE leads (
  key TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  email TEXT,
  user_id TEXT,
  level TEXT NOT NULL,
  level_rank INTEGER NOT NULL,
  level_since INTEGER,
  engagement_score REAL NOT NULL,
  lead_score REAL NOT NULL,
  momentum REAL NOT NULL,
  stage TEXT,
  do_not_contact INTEGER NOT NULL,
  last_activity_at INTEGER,
  model TEXT NOT NULL,
  model_version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL
);
-- The work queue's order: level, then momentum, then recency.
CREATE INDEX leads_priority ON leads (level_rank DESC, momentum DESC, last_activity_at DESC);
CREATE INDEX leads_email ON leads (email);

-- Insights (worker/insights.ts, README "Insights"): each lead's level history and its first touch, written
-- through the lead's outbox with its index row (worker/lead-index.ts).
--
-- level_changes: one row per change of the lead's level in the model's first scoring type, as the lead's object
-- keeps it; `until` is when the next change ended it (null: the lead is in that level now) and `next_rank` the
-- rank it went to, so a level's spans, entries and exits are ranges on this table instead of a walk per lead.
-- A lead's rows are replaced as a whole when its history is written again (a refold, a merge, a rebuild).
CREATE TABLE IF NOT EXISTS level_changes (
  lead_key TEXT NOT NULL,
  at INTEGER NOT NULL,
  until INTEGER,
  from_level TEXT NOT NULL,
  to_level TEXT NOT NULL,
  to_rank INTEGER NOT NULL,
  next_rank INTEGER,
  reason TEXT NOT NULL,
  PRIMARY KEY (lead_key, at, to_level)
) WITHOUT ROWID;
-- The series (entries and exits per level and bucket) and the per-level figures of a window read these alone.
CREATE INDEX IF NOT EXISTS level_changes_rank_at ON level_changes (to_rank, at, until, lead_key);
CREATE INDEX IF NOT EXISTS level_changes_rank_until ON level_changes (to_rank, until) WHERE until IS NOT NULL;
CREATE INDEX IF NOT EXISTS level_changes_at ON level_changes (at, to_rank, until, next_rank, lead_key);
-- The lead's first touch (its earliest page view: utm_source, else the referrer's host, else "direct"; the
-- medium, campaign and referrer host with it), when it first became an opportunity and when it first converted
-- (`Opportunity Created` or `Deal Won`). Rows written before this migration read null until their lead is
-- written again (or the index is rebuilt: POST /v1/admin/reindex).
ALTER TABLE leads ADD COLUMN first_seen_at INTEGER;
ALTER TABLE leads ADD COLUMN source TEXT;
ALTER TABLE leads ADD COLUMN medium TEXT;
ALTER TABLE leads ADD COLUMN campaign TEXT;
ALTER TABLE leads ADD COLUMN referrer TEXT;
ALTER TABLE leads ADD COLUMN converted_at INTEGER;
ALTER TABLE leads ADD COLUMN opportunity_at INTEGER;
-- The engagement index grouped by each attribution: the group, then what is counted of it.
CREATE INDEX IF NOT EXISTS leads_source ON leads (source, level_rank, first_seen_at);
CREATE INDEX IF NOT EXISTS leads_medium ON leads (medium, level_rank, first_seen_at);
CREATE INDEX IF NOT EXISTS leads_campaign ON leads (campaign, level_rank, first_seen_at);
CREATE INDEX IF NOT EXISTS leads_referrer ON leads (referrer, level_rank, first_seen_at);
-- The engagement-index drop alert (worker/insights-alert.ts): one row per group and week it fired for, so it
-- fires at most once a week per group however often the schedule runs.
CREATE TABLE IF NOT EXISTS insight_alerts (
  kind TEXT NOT NULL,
  grouping TEXT NOT NULL,
  grp TEXT NOT NULL,
  week INTEGER NOT NULL,
  fired_at INTEGER NOT NULL,
  before REAL NOT NULL,
  now REAL NOT NULL,
  PRIMARY KEY (kind, grouping, grp, week)
) WITHOUT ROWID;

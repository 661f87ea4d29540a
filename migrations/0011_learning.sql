-- Conversion evidence (worker/learning.ts, shared/learn/): each lead's learning record in its index row, so the
-- conversion analysis is a query on the index, never a fan-out over lead objects. `learning` is the record as JSON
-- (actions before the conversion, the level and scores at it or at the last event). Its times are 0010's columns:
-- `first_seen_at` for `from`/`to`, `converted_at` for when it converted (`Opportunity Created` or `Deal Won`).
-- Rows written before this migration have no record until their lead is written again (a lead stored before
-- records existed is rescored once by its own alarm).
ALTER TABLE leads ADD COLUMN learning TEXT;
CREATE INDEX IF NOT EXISTS leads_learning_first_seen ON leads (first_seen_at, key) WHERE learning IS NOT NULL;
-- The fitted conversion model a lead read applies (`conversionProbability`), one row per model fingerprint,
-- refitted from the index when older than its time to live.
CREATE TABLE IF NOT EXISTS learning_fits (
  fingerprint TEXT PRIMARY KEY,
  fitted_at INTEGER NOT NULL,
  leads INTEGER NOT NULL,
  conversions INTEGER NOT NULL,
  fit TEXT
);

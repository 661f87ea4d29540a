-- Teams and response SLAs in the lead index (worker/lead-index.ts). `teams`: the teams the routes send the lead to
-- now, as a JSON list for display; `lead_teams` holds the same as rows, for the work queue's `team=` filter. The
-- sla_* columns are the lead's most pressing SLA. Rows written before this migration read no teams and no SLA until
-- their lead is written again.
ALTER TABLE leads ADD COLUMN teams TEXT;
ALTER TABLE leads ADD COLUMN sla_team TEXT;
ALTER TABLE leads ADD COLUMN sla_state TEXT;
ALTER TABLE leads ADD COLUMN sla_due_at INTEGER;
CREATE TABLE IF NOT EXISTS lead_teams (
  team TEXT NOT NULL,
  lead_key TEXT NOT NULL,
  PRIMARY KEY (team, lead_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lead_teams_lead_key ON lead_teams (lead_key);
-- `order=sla`: open SLAs, earliest due first (the expression is QUEUE_ORDERS.sla's first term, as written there).
CREATE INDEX IF NOT EXISTS leads_sla ON leads ((CASE WHEN sla_state = 'open' THEN -sla_due_at ELSE -9e15 END) DESC, level_rank DESC, momentum DESC, key);

-- The personalization holdout (worker/experience.ts, worker/holdout-insights.ts): when each lead was first shown
-- personalized or default content by the edge, and whether it was held out (1) or personalized (0); null: never
-- exposed. Rows written before this migration read null until their lead is written again.
ALTER TABLE leads ADD COLUMN exposed_at INTEGER;
ALTER TABLE leads ADD COLUMN holdout INTEGER;
CREATE INDEX IF NOT EXISTS leads_holdout ON leads (holdout, exposed_at, converted_at) WHERE holdout IS NOT NULL;

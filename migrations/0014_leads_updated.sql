-- The dashboard's live updates (worker/app/live.ts): the newest index write, read every few seconds by each open
-- overview or queue, from this index instead of a scan of every lead.
CREATE INDEX IF NOT EXISTS leads_updated ON leads (updated_at);

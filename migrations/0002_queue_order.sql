-- The work queue's orders as indexes that match them term for term (a lead not yet active sorts as time 0, and
-- the key breaks ties), so a page is read in order from the index instead of sorting every lead.
DROP INDEX IF EXISTS leads_priority;
CREATE INDEX leads_priority ON leads (level_rank DESC, momentum DESC, COALESCE(last_activity_at, 0) DESC, key);
CREATE INDEX leads_recent ON leads (COALESCE(last_activity_at, 0) DESC, key);
CREATE INDEX leads_score ON leads (lead_score DESC, level_rank DESC, key);

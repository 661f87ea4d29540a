-- The dashboard's live cursor (worker/app/live.ts) without counting rows: the newest index write comes from
-- leads_updated (0014), and removals — a merge's giver, an erasure, which write nothing newer — from this one-row
-- counter, kept by the trigger below on every path that deletes an index row.
CREATE TABLE IF NOT EXISTS index_removals (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT OR IGNORE INTO index_removals (id, n) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS leads_removed AFTER DELETE ON leads
BEGIN
  UPDATE index_removals SET n = n + 1 WHERE id = 1;
END;

-- Notifications (worker/notify/deliveries.ts): every delivery to a team's destination with its status, and the
-- destinations that answered 410 Gone (disabled for the whole deployment, whichever lead's object sends).
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY,
  lead_key TEXT NOT NULL,
  lead_id TEXT NOT NULL,
  team TEXT NOT NULL,
  destination INTEGER NOT NULL,
  destination_type TEXT NOT NULL,
  event TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  payload TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_created ON deliveries (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS deliveries_team ON deliveries (team, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS deliveries_lead_key ON deliveries (lead_key);
CREATE INDEX IF NOT EXISTS deliveries_lead_id ON deliveries (lead_id);
CREATE TABLE IF NOT EXISTS disabled_destinations (
  team TEXT NOT NULL,
  destination INTEGER NOT NULL,
  target TEXT NOT NULL,
  disabled_at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (team, destination, target)
);

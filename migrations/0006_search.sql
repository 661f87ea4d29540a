-- The work queue's search (`q`, an id or email prefix) as ranges on these, so a rare prefix reads its few rows
-- from an index instead of every row in queue order.
CREATE INDEX leads_id_lower ON leads (lower(id));
CREATE INDEX leads_email_lower ON leads (lower(email));

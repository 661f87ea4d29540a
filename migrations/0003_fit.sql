-- Each lead's fit (the model's fit section: grade A–D and its score), for the work queue's `fit=` filter. Rows
-- written before this migration read null until their lead is written again.
ALTER TABLE leads ADD COLUMN fit_grade TEXT;
ALTER TABLE leads ADD COLUMN fit_score REAL;
-- `fit=A,B` with the queue's priority order: the grade first, then the order's own terms.
CREATE INDEX leads_fit ON leads (fit_grade, level_rank DESC, momentum DESC, COALESCE(last_activity_at, 0) DESC, key);

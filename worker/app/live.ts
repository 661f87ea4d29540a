/**
 * `GET /app/api/changes?since=<cursor>`: whether the index changed since the cursor a page was rendered with.
 * Open overview and queue pages poll it every 3 s (static/app.js) and fetch themselves again when it moved, so
 * it reads only what costs the same at any number of leads: the newest `updated_at` (the end of the
 * leads_updated index, migration 0014) and the counter of removed rows (one row, migration 0015: a merge or an
 * erasure removes rows without writing a newer one).
 */
import { Hono } from 'hono';
import type { AppEnv } from './session.js';

/** The cursor's two reads: an index's last entry and a row by its key (test/worker/dashboard.test.ts explains them). */
export const CURSOR_READS = ['SELECT MAX(updated_at) AS v FROM leads', 'SELECT n AS v FROM index_removals WHERE id = 1'] as const;

/** The index's change cursor: `<newest updated_at>.<rows removed>`. */
export async function changeCursor(db: D1Database): Promise<string> {
  const [newest, removed] = await db.batch<{ v: number | null }>(CURSOR_READS.map((sql) => db.prepare(sql)));
  return `${newest.results[0]?.v ?? 0}.${removed.results[0]?.v ?? 0}`;
}

export const liveRoutes = new Hono<AppEnv>().get('/changes', async (c) => {
  const since = c.req.query('since') ?? '';
  const cursor = await changeCursor(c.env.INDEX);
  return c.json({ cursor, changed: cursor !== since }, 200, { 'Cache-Control': 'no-store' });
});

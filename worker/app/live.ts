/**
 * `GET /app/api/changes?since=<cursor>`: whether the index changed since the cursor a page was rendered with (the
 * newest index write and the number of leads: a merge removes rows without writing a newer one). Open overview
 * and queue pages poll it every 3 s (static/app.js) and fetch themselves again when the cursor moved.
 */
import { Hono } from 'hono';
import type { AppEnv } from './session.js';

/** The index's change cursor: `<newest updated_at>.<leads>`. */
export async function changeCursor(db: D1Database): Promise<string> {
  const [newest, count] = await db.batch<{ v: number | null }>([db.prepare('SELECT MAX(updated_at) AS v FROM leads'), db.prepare('SELECT COUNT(*) AS v FROM leads')]);
  return `${newest.results[0]?.v ?? 0}.${count.results[0]?.v ?? 0}`;
}

export const liveRoutes = new Hono<AppEnv>().get('/changes', async (c) => {
  const since = c.req.query('since') ?? '';
  const cursor = await changeCursor(c.env.INDEX);
  return c.json({ cursor, changed: cursor !== since }, 200, { 'Cache-Control': 'no-store' });
});

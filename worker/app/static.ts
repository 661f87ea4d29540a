/** /app/static/…: the dashboard's stylesheet, script and uPlot (worker/generated/app-assets.ts, scripts/build-app.js). */
import { Hono } from 'hono';
import { APP_ASSETS } from '../generated/app-assets.js';
import type { AppEnv } from './session.js';

export const staticRoutes = new Hono<AppEnv>().get('/:file', (c) => {
  const file = c.req.param('file');
  const a = Object.hasOwn(APP_ASSETS, file) ? APP_ASSETS[file] : undefined;
  if (!a) return c.json({ error: 'not_found', message: `no dashboard file "${file.slice(0, 40)}" (${Object.keys(APP_ASSETS).join(', ')})` }, 404);
  // Pages link each file with ?v=<its hash>: a new build is a new URL, so the file may be cached for good.
  const cache = c.req.query('v') === a.hash ? 'public, max-age=31536000, immutable' : 'no-cache';
  if (c.req.header('If-None-Match') === `"${a.hash}"`) return new Response(null, { status: 304, headers: { ETag: `"${a.hash}"`, 'Cache-Control': cache } });
  return new Response(a.body, { headers: { 'Content-Type': a.type, 'Cache-Control': cache, ETag: `"${a.hash}"`, 'X-Content-Type-Options': 'nosniff' } });
});

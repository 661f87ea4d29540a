/**
 * The SDK. `/ll.js` is what the script tag loads: cached briefly, so a new release reaches every site within
 * minutes. `/ll.<version>.js` is the same file under its content hash, cacheable forever (pin it with SRI).
 */
import { Hono } from 'hono';
import type { Env } from '../env.js';
import { SDK_HASH, SDK_SOURCE } from '../generated/sdk.js';

const headers = (cache: string) => ({
  'Content-Type': 'application/javascript; charset=utf-8',
  'Cache-Control': cache,
  ETag: `"${SDK_HASH}"`,
  'Access-Control-Allow-Origin': '*',
  'X-Content-Type-Options': 'nosniff',
});

export const sdkRoutes = new Hono<{ Bindings: Env }>()
  .get('/ll.js', (c) => {
    if (c.req.header('If-None-Match') === `"${SDK_HASH}"`) return new Response(null, { status: 304, headers: headers('public, max-age=300, stale-while-revalidate=86400') });
    return new Response(SDK_SOURCE, { headers: { ...headers('public, max-age=300, stale-while-revalidate=86400'), Link: `</ll.${SDK_HASH}.js>; rel="canonical"` } });
  })
  .get('/:file{ll\\.[0-9a-f]{10}\\.js}', (c) => {
    if (c.req.param('file') !== `ll.${SDK_HASH}.js`) return c.json({ error: 'not_found', message: `this collector serves ll.${SDK_HASH}.js` }, 404);
    return new Response(SDK_SOURCE, { headers: headers('public, max-age=31536000, immutable') });
  });

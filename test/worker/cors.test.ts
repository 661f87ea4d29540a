/**
 * CORS is answered only for the origins some configured site key allows: any other page can neither preflight
 * nor read an answer, whatever key it uses. (The tests' deployment has pk_demo: http://localhost:*, 127.0.0.1.)
 */
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import app from '../../worker/index.js';
import { LOCAL_PAGE, SECRET, browserBatch, call, env, uid } from './helpers.js';

const preflight = (origin: string | undefined, path = '/v1/batch') =>
  call(path, { method: 'OPTIONS', headers: { ...(origin ? { Origin: origin } : {}), 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization, content-encoding, x-retry-count' } });

async function refusedPreflight(res: Response) {
  expect(res.status).toBe(403);
  expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
  expect(res.headers.get('Vary')).toMatch(/Origin/);
  expect(((await res.json()) as { error: string }).error).toBe('origin_not_allowed');
}

describe('preflights', () => {
  it('from an origin no site key allows: 403, no Access-Control-Allow-Origin', async () => {
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'https://localhost:5173', 'null']) await refusedPreflight(await preflight(origin));
    await refusedPreflight(await preflight(undefined));
    await refusedPreflight(await preflight('https://evil.example', '/v1/leads/x'));
    // Control: the site's own page is answered right after.
    expect((await preflight(LOCAL_PAGE)).status).toBe(204);
  });

  it('from an allowed origin: 204 echoing it, allowing every header analytics.js sends', async () => {
    for (const origin of [LOCAL_PAGE, 'http://127.0.0.1:8787', 'http://localhost']) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe(origin);
      const allowed = (res.headers.get('Access-Control-Allow-Headers') ?? '').toLowerCase().split(/,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(['content-type', 'authorization', 'content-encoding', 'x-retry-count']));
      expect(res.headers.get('Access-Control-Allow-Methods')).toMatch(/POST/);
      expect(res.headers.get('Vary')).toMatch(/Origin/);
    }
  });
});

describe('answers', () => {
  it('are not readable by a foreign page, even when the request itself is allowed (a secret key needs no origin)', async () => {
    const res = await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET, Origin: 'https://evil.example' }, json: { batch: [{ type: 'page', userId: uid('u'), properties: { path: '/' } }] } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(res.headers.get('Access-Control-Expose-Headers')).toBeNull();
    expect(res.headers.get('Vary')).toMatch(/Origin/);
    const level = await call(`/v1/level?anonymousId=${uid('a')}&writeKey=pk_demo`, { headers: { Origin: 'https://evil.example' } });
    expect(level.status).toBe(403);
    expect(level.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('a site-key write from a foreign origin is still refused by the origin check, and unreadable', async () => {
    const anon = uid('a');
    const res = await browserBatch([{ type: 'page', anonymousId: anon, properties: { path: '/' } }], 'https://evil.example');
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('origin_not_allowed');
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect((await call(`/v1/leads/${anon}`, { headers: { Authorization: SECRET } })).status).toBe(404);
    // Control: the same visitor from the site's page.
    expect((await browserBatch([{ type: 'page', anonymousId: anon, properties: { path: '/' } }])).status).toBe(200);
  });

  it('from the site’s page, successes and errors alike are readable, with Retry-After exposed', async () => {
    const ok = await browserBatch([{ type: 'page', anonymousId: uid('a'), properties: { path: '/' } }]);
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe(LOCAL_PAGE);
    expect(ok.headers.get('Access-Control-Expose-Headers')).toMatch(/Retry-After/);
    const bad = await browserBatch([{ type: 'page' }]);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('Access-Control-Allow-Origin')).toBe(LOCAL_PAGE);
  });

  it('follow the deployment’s own site keys: their origins, subdomain patterns, and no longer localhost', async () => {
    const site = 'pk_live_' + '5e'.repeat(16);
    const vars = { ENVIRONMENT: 'production', SECRET_KEYS: 'sk_live_' + '9d'.repeat(16), SITE_KEYS: JSON.stringify({ [site]: { origins: ['https://www.example.com', 'https://*.example.org'] } }) };
    const ask = (origin: string) =>
      app.fetch(new Request('http://collector.test/v1/batch', { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } }), { ...env, ...vars } as never, createExecutionContext());
    for (const origin of ['https://www.example.com', 'https://shop.example.org', 'https://a.b.example.org']) {
      const res = await ask(origin);
      expect(res.status, origin).toBe(204);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe(origin);
    }
    for (const origin of [LOCAL_PAGE, 'https://example.com', 'https://example.org.evil.com', 'http://www.example.com']) await refusedPreflight(await ask(origin));
  });
});

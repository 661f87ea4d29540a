/** Edge personalization: the first paint already fits the visitor's level; anything unknown degrades to defaults. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import app from '../../worker/index.js';
import { personalize } from '../../worker/routes/pages.js';
import { contentFor, siteConfig } from '../../worker/site.js';
import { BASE, LOCAL_PAGE, browserBatch, call, readLead, serverBatch, uid } from './helpers.js';

/** The data-variant of each CTA variant the first paint shows (the others are present, hidden inline). */
const shown = (html: string) => [...html.matchAll(/<div class="cta-variant"([^>]*)>/g)].filter((m) => !/display:none/.test(m[1])).map((m) => /data-variant="([^"]+)"/.exec(m[1])![1]);

const page = (path: string, aid?: string) => call(path, { headers: aid ? { Cookie: `ll_aid=${aid}` } : {} });

async function hotVisitor(): Promise<string> {
  const aid = uid('v');
  await browserBatch([
    { type: 'page', anonymousId: aid, properties: { path: '/pricing' } },
    { type: 'track', anonymousId: aid, event: 'Page Engaged', properties: { path: '/pricing', seconds: 185 } },
  ]);
  return aid;
}

describe('first paint', () => {
  it('a hot visitor’s very first HTML response already holds the hot variant', async () => {
    const aid = await hotVisitor();
    const res = await page('/pricing', aid);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('private, no-cache');
    expect(res.headers.get('Vary')).toMatch(/Cookie/);
    const html = await res.text();
    expect(html).toMatch(/<html[^>]* data-ll-level="hot"/);
    expect(html).toMatch(/data-ll-ssr="1"/);
    expect(shown(html)).toEqual(['hot']);
    // The home page's hero slot holds the content configured for hot.
    const home = await (await page('/', aid)).text();
    expect(home).toContain(`data-ll-slot="hero-cta">${contentFor('hot')['hero-cta']}</div>`);
  });

  it('a cold visitor, and an unknown one, get the cold variant', async () => {
    const aid = uid('v');
    await browserBatch([{ type: 'page', anonymousId: aid, properties: { path: '/features' } }]);
    for (const cookie of [aid, undefined, 'not a valid id!']) {
      const html = await (await page('/pricing', cookie)).text();
      expect(html).toMatch(/data-ll-level="cold"/);
      expect(shown(html)).toEqual(['cold']);
    }
  });

  it('EDGE_PERSONALIZATION=off passes pages through as the origin serves them', async () => {
    const aid = await hotVisitor();
    const res = await app.fetch(new Request(`${BASE}/pricing`, { headers: { Cookie: `ll_aid=${aid}` } }), { ...env, EDGE_PERSONALIZATION: 'off' }, createExecutionContext());
    const html = await res.text();
    expect(html).not.toContain('data-ll-ssr');
    expect(html).not.toContain('style="display:none"');
    expect(html).not.toMatch(/<html[^>]* data-ll-level=/);
  });

  it('a browser’s conditional request still gets the page for the current level, never a 304', async () => {
    const aid = await hotVisitor();
    const first = await page('/pricing', aid);
    const etag = first.headers.get('ETag');
    expect(etag).toBeNull();
    expect(first.headers.get('Last-Modified')).toBeNull();
    const again = await call('/pricing', { headers: { Cookie: `ll_aid=${aid}`, 'If-None-Match': '*', 'If-Modified-Since': new Date().toUTCString() } });
    expect(again.status).toBe(200);
    expect(await again.text()).toMatch(/data-ll-level="hot"/);
  });

  it('non-HTML assets pass through untouched', async () => {
    const res = await page('/assets/site.css', await hotVisitor());
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/text\/css/);
    expect(res.headers.get('Cache-Control')).not.toBe('private, no-cache');
  });
});

describe('degrading to the page’s defaults', () => {
  const html = `<html><body><div data-ll-slot="unknown-slot">default A</div><div data-ll-slot="hero-cta">default B</div>
    <p data-ll-show="cold" style="color: red">c</p><p data-ll-show="hot very_hot">h</p></body></html>`;
  const render = (level: string, content: Record<string, string>) =>
    personalize(new Response(html, { headers: { 'Content-Type': 'text/html' } }), level, content).text();

  it('an unknown slot keeps its own content; a missing variant falls back to the slot default, else the page', async () => {
    const cfg = { ...siteConfig(), content: { 'hero-cta': { hot: '<b>hot!</b>', default: '<i>default</i>' } } };
    expect(await render('hot', contentFor('hot', cfg))).toContain('<div data-ll-slot="hero-cta"><b>hot!</b></div>');
    expect(await render('warm', contentFor('warm', cfg))).toContain('<div data-ll-slot="hero-cta"><i>default</i></div>');
    const none = { ...cfg, content: { 'hero-cta': { hot: '<b>hot!</b>' } } };
    const out = await render('warm', contentFor('warm', none));
    expect(out).toContain('<div data-ll-slot="hero-cta">default B</div>');
    expect(out).toContain('<div data-ll-slot="unknown-slot">default A</div>');
    // Variants for other levels stay in the page, hidden, their own styles kept.
    expect(out).toContain('<p data-ll-show="cold" style="color: red;display:none">c</p>');
    expect(out).toContain('<p data-ll-show="hot very_hot" style="display:none">h</p>');
  });

  it('an unreachable origin serves the last good copy of the page with the defaults, not an error', async () => {
    const aid = await hotVisitor();
    const ctx = createExecutionContext();
    const first = await app.fetch(new Request(`${BASE}/customers/lumen`, { headers: { Cookie: `ll_aid=${aid}` } }), env, ctx);
    expect(first.status).toBe(200);
    await first.text();
    await waitOnExecutionContext(ctx);
    const down = { ...env, SITE_ORIGIN: 'http://127.0.0.1:9' };
    const ctx2 = createExecutionContext();
    const res = await app.fetch(new Request(`${BASE}/customers/lumen`, { headers: { Cookie: `ll_aid=${aid}` } }), down, ctx2);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toMatch(/data-ll-level="hot"/);
    expect(shown(body)).toEqual(['hot']);
    // Never seen before and the origin is down: a plain "back soon" page, not a stack trace.
    const never = await app.fetch(new Request(`${BASE}/never-cached-${uid()}`), down, createExecutionContext());
    expect(never.status).toBe(503);
    expect(never.headers.get('Retry-After')).toBe('30');
  });

  it('a failing level lookup serves the defaults', async () => {
    const broken = { ...env, LEAD: { getByName: () => ({ level: () => Promise.reject(new Error('object unavailable')) }) } };
    const res = await app.fetch(new Request(`${BASE}/`, { headers: { Cookie: 'll_aid=someone' } }), broken as never, createExecutionContext());
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/data-ll-level="cold"/);
  });
});

describe('content and treatments over the API', () => {
  it('batch responses carry the content for the visitor’s new level', async () => {
    const aid = uid('v');
    const res = await browserBatch([{ type: 'track', anonymousId: aid, event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
    const body = await res.json<any>();
    expect(body.lead.level).toBe('very_hot');
    expect(body.content['hero-cta']).toBe(contentFor('very_hot')['hero-cta']);
  });

  it('lead reads return the level’s treatment protocol (SPEC’s response SLAs)', async () => {
    const user = uid('u');
    await serverBatch([{ type: 'track', userId: user, event: 'Form Submitted', properties: { kind: 'contact_sales' } }]);
    expect((await (await readLead(user)).json<any>()).treatment).toMatchObject({ responseSla: { hours: 4 }, salesInvolvement: expect.stringMatching(/Account executive/) });
    const cold = uid('u');
    await serverBatch([{ type: 'page', userId: cold, properties: { path: '/blog/x' } }]);
    expect((await (await readLead(cold)).json<any>()).treatment).toMatchObject({ responseSla: null });
  });

  it('demo mode explains the visitor’s own level to a site key; otherwise scores stay private', async () => {
    const aid = await hotVisitor();
    const url = `/v1/level?anonymousId=${aid}&writeKey=pk_demo&explain=1`;
    const demo = await (await call(url, { headers: { Origin: LOCAL_PAGE } })).json<any>();
    expect(demo).toMatchObject({ level: 'hot', engagementScore: 20, leadScore: 20 });
    expect(demo.reasons[0].text).toMatch(/Pricing page read/);
    // Every point of the scores it shows, in its ledger.
    expect(demo.ledger.reduce((n: number, x: { points: number; counts: string }) => n + (x.counts === 'lead' ? 0 : x.points), 0)).toBe(demo.engagementScore);
    const prod = { ...env, DEMO_MODE: 'false' };
    const res = await app.fetch(new Request(BASE + url, { headers: { Origin: LOCAL_PAGE } }), prod, createExecutionContext());
    const body = await res.json<any>();
    expect(body.level).toBe('hot');
    expect(body.engagementScore).toBeUndefined();
  });
});

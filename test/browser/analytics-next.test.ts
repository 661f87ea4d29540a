/**
 * Segment's analytics.js (`@segment/analytics-next`, bundled here with esbuild as a site bundles it) in Debian's
 * Chromium against the real local collector, its settings given inline so that nothing leaves loopback: no CDN
 * settings fetch, no remote plugins, no metrics. Every event is read back from the collector exactly once,
 * through a 429 storm and with a bad message in a batch.
 */
import { build } from 'esbuild';
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_IDENTITY_SECRET } from '../../worker/identity-proof.js';
import { collector, collectorPath, eventually, events, launch, lead, pageErrors, site, type Browser, type Page } from './harness.js';

let browser: Browser;
let web: Awaited<ReturnType<typeof site>>;

const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>Pricing</title><script src="/analytics-next.js"></script></head><body><h1>Pricing</h1></body></html>';

beforeAll(async () => {
  // The package's own entry point, bundled for the browser: its lazily loaded parts are inlined (no chunk is
  // fetched from Segment's CDN at run time).
  const bundled = await build({
    stdin: { contents: "export { AnalyticsBrowser } from '@segment/analytics-next';", resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    format: 'iife',
    globalName: 'SegmentAnalytics',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'error',
  });
  [browser, web] = await Promise.all([
    // Every host but loopback fails to resolve: a request the settings did not prevent fails instead of leaving.
    launch(['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1']),
    site({ '/analytics-next.js': { type: 'text/javascript', body: bundled.outputFiles[0].text }, '/pricing': { type: 'text/html; charset=utf-8', body: PAGE } }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

/** A fresh browser context on the test page, with every request it makes recorded. */
async function open(): Promise<{ page: Page; requests: string[]; failed: string[]; answers: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests: string[] = [];
  const failed: string[] = [];
  const answers: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  context.on('response', (r) => r.url().includes('/v1/') && answers.push(`${new URL(r.url()).pathname} ${r.status()}`));
  context.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(`${web.url}/pricing`);
  return { page, requests, failed, answers };
}

/** Only loopback: the test site and the collector (or the path to it). */
function onlyLoopback(requests: string[]) {
  expect(requests.length).toBeGreaterThan(0);
  expect(requests.filter((u) => !['localhost', '127.0.0.1'].includes(new URL(u).hostname))).toEqual([]);
}

interface Load {
  /** host:port/v1 of the collector (or of the path to it). */
  apiHost: string;
  batching?: { size: number; timeout: number };
}

/**
 * AnalyticsBrowser.load with the settings a site needs for this collector (README, "Clients that work"): CDN
 * settings inline, `Segment.io` pointed at the collector with the site key as its apiKey, metrics off. A source
 * middleware records each messageId sent and adds the signed-in user's proof (`window.userHash`, which a site's
 * backend renders into the page) to every event. Resolves with the visitor's anonymousId.
 */
async function load(page: Page, { apiHost, batching }: Load): Promise<string> {
  return page.evaluate(
    async ({ apiHost, batching }) => {
      const w = window as any;
      w.sent = [] as { type: string; event?: string; messageId: string }[];
      w.errors = [] as string[];
      const segmentio: Record<string, unknown> = { apiKey: 'pk_demo', apiHost, protocol: 'http' };
      if (batching) segmentio.deliveryStrategy = { strategy: 'batching', config: batching };
      const analytics = w.SegmentAnalytics.AnalyticsBrowser.load({
        writeKey: 'pk_demo',
        cdnSettings: { integrations: { 'Segment.io': segmentio }, remotePlugins: [], metrics: { sampleRate: 0 } },
      });
      analytics.addSourceMiddleware(({ payload, next }: any) => {
        const e = payload.obj;
        if (w.userHash) e.context = { ...e.context, userHash: w.userHash };
        w.sent.push({ type: e.type, event: e.event, messageId: e.messageId });
        next(payload);
      });
      analytics.on('error', (err: any) => w.errors.push(`${err.code}: ${err.reason?.message ?? err.reason}`));
      w.analytics = analytics;
      const [instance] = await analytics;
      return instance.user().anonymousId() as string;
    },
    { apiHost, batching },
  );
}

const sent = (page: Page): Promise<{ type: string; event?: string; messageId: string }[]> => page.evaluate(() => (window as any).sent);
const deliveryErrors = (page: Page): Promise<string[]> => page.evaluate(() => (window as any).errors);

/** The lead's stored events: each of `ids` exactly once, and nothing else. */
async function storedExactlyOnce(id: string, ids: string[], ms = 15_000) {
  await eventually(async () => expect((await events(id)).map((e) => e.messageId).sort()).toEqual([...ids].sort()), ms);
}

const apiHostOf = (url: string) => `${new URL(url).host}/v1`;

describe('@segment/analytics-next in Chromium', () => {
  it('page, track, group, alias and identify (with the proof), track as the user: each stored once, nothing leaves loopback', async () => {
    const { page, requests, failed, answers } = await open();
    const errors = pageErrors(page);
    const aid = await load(page, { apiHost: apiHostOf(collector) });
    const user = `ajs-user-${Date.now()}`;
    const userHash = createHmac('sha256', DEV_IDENTITY_SECRET).update(user).digest('hex');
    await page.evaluate(
      async ({ user, userHash }) => {
        const a = (window as any).analytics;
        await a.page();
        await a.track('Pricing Viewed', { plan: 'pro' });
        await a.group('acme', { name: 'Acme Inc', employees: 120 });
        (window as any).userHash = userHash; // the visitor signed in: the site's backend renders the proof
        await a.alias(user, a.instance.user().anonymousId());
        await a.identify(user, { title: 'VP Marketing', company: 'Acme Inc' });
        await a.track('ROI Calculator Completed', { savings: 120000 });
      },
      { user, userHash },
    );
    const calls = await sent(page);
    expect(calls.map((c) => c.event ?? c.type)).toEqual(['page', 'Pricing Viewed', 'group', 'alias', 'identify', 'ROI Calculator Completed']);
    expect(answers).toEqual(['/v1/p 200', '/v1/t 200', '/v1/g 200', '/v1/a 200', '/v1/i 200', '/v1/t 200']);
    // One lead, the visitor's, now the user's: every message once (an alias links ids; it is not an event).
    await storedExactlyOnce(user, calls.filter((c) => c.type !== 'alias').map((c) => c.messageId));
    const { body } = await lead(aid);
    expect(body).toMatchObject({ id: user, anonymousIds: [aid] });
    expect(body.traits.title.value).toBe('VP Marketing');
    expect(body.accounts).toEqual([expect.objectContaining({ groupId: 'acme', traits: { name: 'Acme Inc', employees: 120 } })]);
    const pv = (await events(user)).find((e) => e.type === 'page');
    expect(pv.properties).toMatchObject({ path: '/pricing', title: 'Pricing', url: `${web.url}/pricing` });
    expect(await deliveryErrors(page)).toEqual([]);
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    onlyLoopback(requests);
    await page.context().close();
  });

  /**
   * A path to the collector that answers the first `storm` POSTs itself with 429 and Retry-After (with the
   * collector's own CORS headers, as its rate limiter answers), then passes everything through; preflights always
   * reach the real collector. Counts the 429s and the X-Retry-Count of what got through.
   */
  async function storm(count: number, retryAfter = 1) {
    const seen = { answered429: 0, passed: 0, retryCounts: [] as number[] };
    const path = await collectorPath((req: IncomingMessage, res: ServerResponse) => {
      if (req.method !== 'POST') return false;
      if (seen.answered429 < count) {
        seen.answered429++;
        req.resume();
        res.writeHead(429, {
          'Content-Type': 'application/json',
          'Retry-After': String(retryAfter),
          'Access-Control-Allow-Origin': req.headers.origin ?? '',
          'Access-Control-Expose-Headers': 'Retry-After',
          Vary: 'Origin',
        });
        res.end(JSON.stringify({ error: 'rate_limited', message: `retry after ${retryAfter} s` }));
        return true;
      }
      seen.passed++;
      const retry = req.headers['x-retry-count'];
      if (typeof retry === 'string') seen.retryCounts.push(Number(retry));
      return false;
    });
    return { ...path, seen };
  }

  const QUICK_TRACKS = 110; // under the collector's own per-visitor limit (120 a minute): only the storm says 429

  for (const mode of ['standard', 'batching'] as const) {
    it(`a 429 storm (${mode}): ${QUICK_TRACKS} quick track() calls, retried with X-Retry-Count through the preflight, each stored once`, async () => {
      // Standard mode: one request per event, so 150 429s are every first attempt and 40 retries. Batching: the
      // first batches and their first retries.
      const path = await storm(mode === 'standard' ? 150 : 3);
      const { page, requests, failed } = await open();
      const aid = await load(page, { apiHost: apiHostOf(path.url), batching: mode === 'batching' ? { size: 10, timeout: 100 } : undefined });
      await page.evaluate((n) => {
        const a = (window as any).analytics;
        for (let i = 0; i < n; i++) a.track('Docs Read', { i });
      }, QUICK_TRACKS);
      const calls = await sent(page);
      expect(calls).toHaveLength(QUICK_TRACKS);
      await storedExactlyOnce(aid, calls.map((c) => c.messageId), 30_000);
      expect(path.seen.answered429).toBe(mode === 'standard' ? 150 : 3);
      // The retries reached the collector: the browser sent X-Retry-Count, which only a preflight allowing it permits.
      expect(path.seen.retryCounts.length).toBeGreaterThan(0);
      expect(Math.min(...path.seen.retryCounts)).toBeGreaterThanOrEqual(1);
      expect(await deliveryErrors(page)).toEqual([]);
      expect(failed).toEqual([]);
      onlyLoopback(requests);
      // Every event got through once: one request each (standard), one batch of all of them after the storm.
      expect(path.seen.passed).toBe(mode === 'standard' ? QUICK_TRACKS : 1);
      await page.context().close();
      await path.close();
    });
  }

  it('the preflight allows every header analytics.js sends, X-Retry-Count among them', async () => {
    const res = await fetch(`${collector}/v1/t`, {
      method: 'OPTIONS',
      headers: { Origin: web.url, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,x-retry-count' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(web.url);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-retry-count']));
  });

  it('batching: a batch with one bad message is answered 200 naming it; the others are stored once', async () => {
    const { page, requests, failed } = await open();
    const batches: { status: number; body: any; sent: any }[] = [];
    page.on('response', async (r) => {
      if (new URL(r.url()).pathname === '/v1/b') batches.push({ status: r.status(), body: await r.json(), sent: r.request().postDataJSON() });
    });
    const aid = await load(page, { apiHost: apiHostOf(collector), batching: { size: 5, timeout: 5_000 } });
    await page.evaluate(() => {
      const a = (window as any).analytics;
      a.page();
      a.track('Pricing Viewed', { plan: 'pro' });
      // Valid to analytics.js, refused by the collector: Page Engaged needs its seconds ≥ 0.
      a.track('Page Engaged', { path: '/pricing', seconds: -5 });
      a.identify({ title: 'CTO' });
      a.track('Form Submitted', { form: 'Demo', kind: 'demo_request' });
    });
    await eventually(async () => expect(batches).toHaveLength(1));
    const calls = await sent(page);
    const bad = calls.find((c) => c.event === 'Page Engaged')!;
    const [batch] = batches;
    expect(batch.sent.batch.map((m: any) => m.messageId)).toEqual(calls.map((c) => c.messageId)); // one request, all five
    expect(batch.status).toBe(200);
    expect(batch.body.rejected).toEqual([{ index: 2, messageId: bad.messageId, problems: [expect.objectContaining({ path: 'batch[2].properties.seconds' })] }]);
    expect(batch.body.accepted).toBe(4);
    await storedExactlyOnce(aid, calls.filter((c) => c !== bad).map((c) => c.messageId));
    expect((await lead(aid)).body).toMatchObject({ level: 'very_hot', traits: { title: { value: 'CTO' } } });
    expect(await deliveryErrors(page)).toEqual([]);
    expect(failed).toEqual([]);
    onlyLoopback(requests);
    await page.context().close();
  });

  for (const mode of ['standard', 'batching'] as const) {
    it(`events sent as the visitor leaves the page (${mode}) are stored once`, async () => {
      const { page, requests, failed } = await open();
      // Batching: a batch still waiting when the page goes is sent with keepalive. Standard: what was in flight
      // is kept in localStorage and sent again by the next page (at least once: the collector dedupes).
      const aid = await load(page, { apiHost: apiHostOf(collector), batching: mode === 'batching' ? { size: 50, timeout: 10_000 } : undefined });
      await page.evaluate(() => {
        const a = (window as any).analytics;
        for (let i = 0; i < 5; i++) a.track('Docs Read', { i });
      });
      await page.waitForFunction(() => (window as any).sent.length === 5);
      const ids = (await sent(page)).map((c) => c.messageId);
      await page.goto(`${web.url}/pricing?next`);
      if (mode === 'standard') await load(page, { apiHost: apiHostOf(collector) });
      await storedExactlyOnce(aid, ids);
      await page.waitForTimeout(1_000); // anything sent again has arrived by now: still once each
      await storedExactlyOnce(aid, ids);
      // Requests cut off by the navigation end as ERR_ABORTED, or ERR_FAILED when Chromium tears the page down
      // mid-request under load (standard mode: their events were kept and sent again, stored once above).
      const cut = mode === 'standard' ? /ERR_ABORTED|ERR_FAILED/ : /ERR_ABORTED/;
      expect(failed.filter((f) => !cut.test(f))).toEqual([]);
      onlyLoopback(requests);
      await page.context().close();
    });
  }

  it('the collector\'s own per-visitor limit: 130 quick track() calls, the ones over it retried and stored once', async () => {
    const { page, answers } = await open();
    const aid = await load(page, { apiHost: apiHostOf(collector) });
    await page.evaluate(() => {
      const a = (window as any).analytics;
      for (let i = 0; i < 130; i++) a.track('Docs Read', { i });
    });
    await page.waitForFunction(() => (window as any).sent.length === 130);
    const ids = (await sent(page)).map((c) => c.messageId);
    await storedExactlyOnce(aid, ids, 40_000);
    // 130 in a moment is over the 120 a minute: the collector answered some with 429 and Retry-After (exposed to
    // the page by its CORS headers), and analytics.js sent them again.
    expect(answers.filter((a) => a === '/v1/t 429').length).toBeGreaterThan(0);
    expect(answers.filter((a) => a === '/v1/t 200')).toHaveLength(130);
    expect(await deliveryErrors(page)).toEqual([]);
    await page.context().close();
  });
});

/**
 * The Segment clients people run, pointed at the local collector, each event read back exactly once. The Node
 * libraries run unmodified; analytics-ruby, analytics-java and analytics-python are replayed as the exact
 * requests they make (path, auth, encoding, body shape), from their sources.
 */
import { Analytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, inject, it } from 'vitest';
import { collectorPath } from '../browser/harness.js';

const collector = inject('collector');
const basic = (key: string) => 'Basic ' + Buffer.from(`${key}:`).toString('base64');
const secret = { Authorization: basic('sk_dev') };

async function eventsOf(id: string): Promise<{ messageId: string; type: string; event: string | null; properties: Record<string, unknown> }[]> {
  const res = await fetch(`${collector}/v1/leads/${encodeURIComponent(id)}/events?limit=100`, { headers: secret });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: never[] }).events;
}

async function leadOf(id: string): Promise<Record<string, any>> {
  const res = await fetch(`${collector}/v1/leads/${encodeURIComponent(id)}`, { headers: secret });
  expect(res.status).toBe(200);
  return res.json() as Promise<Record<string, any>>;
}

/** Each of `ids` exactly once, and nothing else. */
function exactlyOnce(events: { messageId: string }[], ids: string[]) {
  expect(events.map((e) => e.messageId).sort()).toEqual([...ids].sort());
}

describe('@segment/analytics-node', () => {
  it('all six calls, and a batch with one bad message: the good ones stored exactly once, no error for them', async () => {
    const analytics = new Analytics({ writeKey: 'sk_dev', host: collector, path: '/v1/batch', flushAt: 20, flushInterval: 50, maxRetries: 2 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const userId = `seg-${randomUUID()}`;
    const anonymousId = `anon-${randomUUID()}`;
    const ids = { page: randomUUID(), identify: randomUUID(), screen: randomUUID(), track: randomUUID(), group: randomUUID(), anonPage: randomUUID(), bad: randomUUID() };
    analytics.page({ anonymousId, messageId: ids.anonPage, properties: { path: '/docs' } });
    analytics.alias({ previousId: anonymousId, userId });
    analytics.identify({ userId, messageId: ids.identify, traits: { email: `${userId}@example.com`, title: 'VP Marketing' } });
    analytics.page({ userId, messageId: ids.page, name: 'Pricing', properties: { path: '/pricing', url: 'https://www.example.com/pricing' } });
    analytics.screen({ userId, messageId: ids.screen, name: 'Dashboard' });
    analytics.group({ userId, messageId: ids.group, groupId: 'acme', traits: { name: 'Acme Inc', employees: 120 } });
    analytics.track({ userId, messageId: ids.track, event: 'Webinar Attended', properties: { webinar: 'Scoring 101' } });
    // Valid to the library, refused by the collector: Page Engaged needs its seconds.
    analytics.track({ userId, messageId: ids.bad, event: 'Page Engaged', properties: { path: '/pricing', seconds: -5 } });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    const { bad: _bad, ...good } = ids;
    exactlyOnce(await eventsOf(userId), Object.values(good));
    const lead = await leadOf(userId);
    expect(lead).toMatchObject({ id: userId, email: `${userId}@example.com`, anonymousIds: expect.arrayContaining([anonymousId]) });
    expect(lead.traits.title.value).toBe('VP Marketing');
    expect(lead.accounts).toEqual([expect.objectContaining({ groupId: 'acme', traits: { name: 'Acme Inc', employees: 120 } })]);
  });
});

describe('@rudderstack/rudder-sdk-node', () => {
  it('track, page, screen, identify and group, stored exactly once', async () => {
    const client = new RudderAnalytics('sk_dev', { dataPlaneUrl: collector, flushAt: 20, flushInterval: 50, retryCount: 2, logLevel: 'error' });
    const userId = `rud-${randomUUID()}`;
    const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    // The library sends a messageId given to it (its types do not list one).
    const m = (message: Record<string, unknown>) => message as never;
    client.identify(m({ userId, messageId: ids[0], traits: { company: 'Initech' } }));
    client.page(m({ userId, messageId: ids[1], name: 'Pricing', properties: { path: '/pricing' } }));
    client.screen(m({ userId, messageId: ids[2], name: 'Home' }));
    client.group(m({ userId, messageId: ids[3], groupId: 'initech', traits: { plan: 'enterprise' } }));
    client.track(m({ userId, messageId: ids[4], event: 'Form Submitted', properties: { form: 'Demo', kind: 'demo_request' } }));
    await client.flush();
    exactlyOnce(await eventsOf(userId), ids);
    const lead = await leadOf(userId);
    expect(lead.level).toBe('very_hot');
    expect(lead.traits.company.value).toBe('Initech');
  });
});

/**
 * A 429 storm: a loopback path in front of the real collector answers the first `n` batch requests with 429
 * (Retry-After: 1), as the collector's own limits do under a flood, then passes everything through.
 */
async function storm(n: number) {
  let refused = 0;
  const path = await collectorPath((req, res) => {
    if (req.method !== 'POST' || refused >= n) return false;
    refused++;
    req.resume();
    res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1' }).end(JSON.stringify({ error: 'rate_limited', message: 'slow down' }));
    return true;
  });
  return { ...path, refused: () => refused };
}

describe('through a 429 storm, each event stored exactly once', () => {
  it('@segment/analytics-node retries what was refused', async () => {
    const s = await storm(3);
    try {
      const analytics = new Analytics({ writeKey: 'sk_dev', host: s.url, path: '/v1/batch', flushAt: 10, flushInterval: 50, maxRetries: 6 });
      const errors: unknown[] = [];
      analytics.on('error', (e) => errors.push(e));
      const userId = `seg-storm-${randomUUID()}`;
      const ids = Array.from({ length: 40 }, () => randomUUID());
      for (const [i, messageId] of ids.entries()) analytics.track({ userId, messageId, event: 'Webinar Attended', properties: { n: i } });
      await analytics.closeAndFlush({ timeout: 30_000 });
      expect(errors).toEqual([]);
      expect(s.refused()).toBe(3);
      exactlyOnce(await eventsOf(userId), ids);
    } finally {
      await s.close();
    }
  });

  it('@rudderstack/rudder-sdk-node retries what was refused', async () => {
    const s = await storm(3);
    try {
      const client = new RudderAnalytics('sk_dev', { dataPlaneUrl: s.url, flushAt: 10, flushInterval: 50, retryCount: 6, logLevel: 'error' });
      const userId = `rud-storm-${randomUUID()}`;
      const ids = Array.from({ length: 40 }, () => randomUUID());
      for (const [i, messageId] of ids.entries()) client.track({ userId, messageId, event: 'Webinar Attended', properties: { n: i } } as never);
      await client.flush();
      // The library's retries run on after flush() resolves for a refused batch: wait for the events to land.
      const end = Date.now() + 20_000;
      while ((await eventsOf(userId)).length < ids.length && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
      expect(s.refused()).toBe(3);
      exactlyOnce(await eventsOf(userId), ids);
    } finally {
      await s.close();
    }
  });
});

/** analytics-ruby (lib/segment/analytics/transport.rb) and analytics-java (SegmentService): POST /v1/import. */
async function importBatch(library: string, batch: Record<string, unknown>[]) {
  const res = await fetch(`${collector}/v1/import`, {
    method: 'POST',
    headers: { Authorization: basic('sk_dev'), 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': `${library}/2.5.0` },
    body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const libMessage = (library: string, m: Record<string, unknown>) => ({
  messageId: randomUUID(),
  timestamp: new Date(Date.now() - 1000).toISOString(),
  context: { library: { name: library, version: '2.5.0' } },
  ...m,
});

describe('server libraries by their requests', () => {
  for (const library of ['analytics-ruby', 'analytics-java']) {
    it(`${library}: /v1/import with Basic auth, a mixed batch with one bad message`, async () => {
      const userId = `${library}-${randomUUID()}`;
      const good = [
        libMessage(library, { type: 'identify', userId, traits: { email: `${userId}@example.com` } }),
        libMessage(library, { type: 'page', userId, name: 'Pricing', properties: { path: '/pricing' } }),
        libMessage(library, { type: 'track', userId, event: 'Webinar Attended', properties: {} }),
      ];
      const bad = libMessage(library, { type: 'track', userId, event: 'Email Bounced', properties: { type: 'permanent' } });
      const first = await importBatch(library, [good[0], bad, good[1], good[2]]);
      expect(first.status).toBe(200);
      expect(first.body.rejected).toEqual([{ index: 1, messageId: bad.messageId, problems: [expect.objectContaining({ path: 'batch[1].properties.type' })] }]);
      // Ruby and Java retry what failed in transport: the same batch again changes nothing.
      expect((await importBatch(library, [good[0], bad, good[1], good[2]])).body).toMatchObject({ accepted: 0, duplicates: 3 });
      exactlyOnce(await eventsOf(userId), good.map((m) => m.messageId as string));
    });
  }

  for (const gzip of [false, true]) {
    it(`analytics-python: /v1/batch${gzip ? ', gzip' : ''}, a mixed batch with one bad message`, async () => {
      const userId = `py-${randomUUID()}`;
      // analytics-python (segment/analytics/request.py): the write key as Basic user, the body's sentAt,
      // messages with isoformat() timestamps (microseconds, +00:00).
      const ts = new Date(Date.now() - 2000).toISOString().replace('Z', '000+00:00');
      const msg = (m: Record<string, unknown>) => ({ ...libMessage('analytics-python', m), timestamp: ts });
      const good = [msg({ type: 'identify', userId, traits: { title: 'CTO' } }), msg({ type: 'track', userId, event: 'ROI Calculator Completed', properties: {} })];
      const bad = msg({ type: 'track', userId, event: '', properties: {} });
      const json = JSON.stringify({ batch: [good[0], bad, good[1]], sentAt: new Date().toISOString().replace('Z', '000+00:00') });
      const res = await fetch(`${collector}/v1/batch`, {
        method: 'POST',
        headers: { Authorization: basic('sk_dev'), 'Content-Type': 'application/json', 'User-Agent': 'analytics-python/2.3.3', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) },
        body: gzip ? gzipSync(json) : json,
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).rejected.map((r: any) => r.index)).toEqual([1]);
      exactlyOnce(await eventsOf(userId), good.map((m) => m.messageId as string));
      expect((await leadOf(userId)).traits.title.value).toBe('CTO');
    });
  }
});

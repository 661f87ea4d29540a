/** The wire contract of ingest: Segment's HTTP API, keys, CORS, dedupe, and the level in the answer. */
import { describe, expect, it } from 'vitest';
import { BASE, LOCAL_PAGE, SECRET, browserBatch, call, readLead, serverBatch, uid } from './helpers.js';

describe('POST /v1/batch', () => {
  it('scores a server batch (HTTP Basic write key) and answers with the lead’s level', async () => {
    const user = uid('u');
    const res = await serverBatch([
      { type: 'page', userId: user, messageId: uid(), properties: { path: '/pricing' } },
      { type: 'track', userId: user, messageId: uid(), event: 'Form Submitted', properties: { kind: 'demo_request' } },
    ]);
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body).toMatchObject({ success: true, accepted: 2, duplicates: 0, lead: { id: user, level: 'very_hot', engagementScore: 30, leadScore: 30 }, previousLevel: 'cold' });
    expect(body.changes).toEqual([expect.objectContaining({ from: 'cold', to: 'very_hot', reason: 'floor' })]);
  });

  it('accepts a browser batch as text/plain with the site key in the body, and lets the page read the answer', async () => {
    const anon = uid('a');
    const res = await browserBatch([{ type: 'page', anonymousId: anon, messageId: uid(), properties: { path: '/docs/start' } }]);
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(LOCAL_PAGE);
    const body = await res.json<any>();
    // A site key learns its visitor's level, not the scores.
    expect(body.lead).toEqual({ level: 'engaged', levelName: 'Engaged' });
    expect(body.leads).toBeUndefined();
  });

  it('a retried batch is never scored twice', async () => {
    const user = uid('u');
    const batch = [
      { type: 'track', userId: user, messageId: uid(), event: 'Webinar Attended' },
      { type: 'track', userId: user, messageId: uid(), event: 'Form Submitted', properties: { kind: 'content_download' } },
    ];
    expect(await (await serverBatch(batch)).json()).toMatchObject({ accepted: 2, duplicates: 0, lead: { leadScore: 23 } });
    expect(await (await serverBatch(batch)).json()).toMatchObject({ accepted: 0, duplicates: 2, lead: { leadScore: 23 } });
    // Duplicates inside one batch, too.
    const again = { type: 'track', userId: user, messageId: uid(), event: 'Webinar Attended' };
    expect(await (await serverBatch([again, again])).json()).toMatchObject({ accepted: 1, duplicates: 1, lead: { leadScore: 38 } });
  });

  it('takes a large batch for one lead (a CRM backfill), up to Segment’s 500 KB', async () => {
    const user = uid('u');
    const t0 = Date.now() - 20 * 86_400_000;
    const batch = Array.from({ length: 1500 }, (_, i) => ({ type: 'page', userId: user, messageId: `bulk-${user}-${i}`, timestamp: new Date(t0 + i * 60_000).toISOString(), properties: { path: `/p${i % 9}` } }));
    const res = await serverBatch(batch);
    expect(await res.json()).toMatchObject({ accepted: 1500, duplicates: 0 });
    expect(await (await serverBatch(batch.slice(0, 300))).json()).toMatchObject({ accepted: 0, duplicates: 300 });
  });

  it('accepts writeKey in the body and Bearer; stores group and screen calls', async () => {
    const user = uid('u');
    const r1 = await call('/v1/batch', { method: 'POST', json: { writeKey: 'sk_dev', batch: [{ type: 'page', userId: user, properties: { path: '/' } }] } });
    expect(r1.status).toBe(200);
    const r2 = await call('/v1/batch', {
      method: 'POST',
      headers: { Authorization: 'Bearer sk_dev' },
      json: { batch: [{ type: 'group', userId: user, groupId: 'acme' }, { type: 'screen', userId: user, name: 'Home' }] },
    });
    expect(await r2.json()).toMatchObject({ success: true, accepted: 2, rejected: [] });
  });

  it('takes gzip bodies, as some Segment clients send them', async () => {
    const user = uid('u');
    const json = JSON.stringify({ batch: [{ type: 'track', userId: user, messageId: uid(), event: 'Webinar Attended' }] });
    const gz = await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
    const res = await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET, 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' }, body: gz });
    expect(await res.json()).toMatchObject({ accepted: 1, lead: { leadScore: 15 } });
  });

  it('answers the CORS preflight of JSON clients', async () => {
    const res = await call('/v1/batch', { method: 'OPTIONS', headers: { Origin: LOCAL_PAGE, 'Access-Control-Request-Method': 'POST' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(LOCAL_PAGE);
    expect(res.headers.get('Access-Control-Allow-Headers')).toMatch(/Content-Type/);
  });
});

describe('GET /v1/leads/{id}/events', () => {
  it('pages newest first with a cursor, each event with its points and reasons', async () => {
    const user = uid('u');
    const t0 = Date.now() - 10 * 60_000;
    const batch = [
      { type: 'page', properties: { path: '/' } },
      { type: 'page', properties: { path: '/pricing' } },
      { type: 'page', properties: { path: '/pricing/teams' } },
      { type: 'track', event: 'Form Submitted', properties: { kind: 'case_study_download', form: 'Northwind' } },
      { type: 'track', event: 'Email Opened', properties: { campaign: 'march' } },
    ].map((m, i) => ({ ...m, userId: user, messageId: `${user}-${i}`, timestamp: new Date(t0 + i * 60_000).toISOString() }));
    await serverBatch(batch);
    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Response = await call(`/v1/leads/${user}/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { headers: { Authorization: SECRET } });
      const body: any = await res.json();
      seen.push(...body.events);
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((e) => e.messageId)).toEqual([4, 3, 2, 1, 0].map((i) => `${user}-${i}`));
    expect(seen[0]).toMatchObject({ type: 'track', event: 'Email Opened', properties: { campaign: 'march' }, timestamp: batch[4].timestamp, points: 1 });
    expect(seen[2]).toMatchObject({ points: 0, reasons: [{ rule: 'pricing_visit', points: 0, base: 10, clippedBy: 'perDay', inWindow: true }] });
    expect(seen[3].reasons).toEqual([{ scoringType: 'engagement', rule: 'pricing_visit', ruleName: 'Pricing visit', points: 10, base: 10, inWindow: true }]);
  });
});

describe('single calls', () => {
  it('POST /v1/track, /v1/page and /v1/identify', async () => {
    const anon = uid('a');
    const post = (path: string, json: object) => call(path, { method: 'POST', headers: { Authorization: SECRET }, json });
    expect((await post('/v1/page', { anonymousId: anon, properties: { path: '/pricing' } })).status).toBe(200);
    expect((await post('/v1/track', { anonymousId: anon, event: 'ROI Calculator Completed' })).status).toBe(200);
    const id = await post('/v1/identify', { anonymousId: anon, userId: `${anon}-user`, traits: { email: `${anon}@example.com`, company: 'Acme' } });
    expect(await id.json()).toMatchObject({ lead: { id: `${anon}-user`, level: 'hot', engagementScore: 10 } });
  });
});

describe('browser timestamps', () => {
  it('a site key’s old timestamps are clamped to 7 days and the event says so; a secret key may backfill', async () => {
    const anon = uid('a');
    const old = new Date(Date.now() - 20 * 86_400_000).toISOString();
    await browserBatch([{ type: 'page', anonymousId: anon, messageId: 'old-1', timestamp: old, properties: { path: '/pricing' } }]);
    const events = await (await call(`/v1/leads/${anon}/events`, { headers: { Authorization: SECRET } })).json<any>();
    expect(events.events[0].timeNote).toMatch(/older than 7 days/);
    expect(Date.parse(events.events[0].timestamp)).toBeGreaterThan(Date.now() - 7 * 86_400_000 - 60_000);

    const user = uid('u');
    await serverBatch([{ type: 'page', userId: user, messageId: 'old-2', timestamp: old, properties: { path: '/pricing' } }]);
    const lead = await (await readLead(user)).json<any>();
    expect(lead).toMatchObject({ leadScore: 10, engagementScore: 10 });
    const ev = await (await call(`/v1/leads/${user}/events`, { headers: { Authorization: SECRET } })).json<any>();
    expect(ev.events[0].timestamp).toBe(old);
  });
});

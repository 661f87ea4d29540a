/**
 * Segment's HTTP API semantics (SPEC, "Segment compatibility, in detail"): the anchored route table, per-message
 * acceptance, alias, group, screen, traits on the lead, and analytics.js's cookie at the edge.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_PAGE, SECRET, browserBatch, call, readLead, serverBatch, signUserId, uid } from './helpers.js';

const post = (path: string, json: unknown, headers: Record<string, string> = { Authorization: SECRET }) => call(path, { method: 'POST', headers, json });
const events = async (id: string) => (await (await call(`/v1/leads/${encodeURIComponent(id)}/events?limit=100`, { headers: { Authorization: SECRET } })).json<any>()).events as any[];
const lead = async (id: string) => (await readLead(id)).json<any>();

describe('the route table', () => {
  it('every Segment route ingests, with or without a trailing slash', async () => {
    const user = uid('routes');
    const batchPaths = ['/v1/batch', '/v1/b', '/v1/import'];
    const single: Record<string, Record<string, unknown>> = {
      track: { event: 'Custom Thing' },
      t: { event: 'Custom Thing' },
      page: { properties: { path: '/a' } },
      p: { properties: { path: '/b' } },
      screen: { name: 'Home' },
      s: { name: 'Settings' },
      identify: { traits: { plan: 'pro' } },
      i: { traits: { seats: 3 } },
      group: { groupId: 'acme' },
      g: { groupId: 'initech' },
      alias: { previousId: uid('prev') },
      a: { previousId: uid('prev') },
    };
    let stored = 0;
    for (const slash of ['', '/']) {
      for (const p of batchPaths) {
        const res = await post(p + slash, { batch: [{ type: 'track', userId: user, messageId: uid(), event: 'Custom Thing' }] });
        expect(res.status, p + slash).toBe(200);
        expect(await res.json<any>(), p + slash).toMatchObject({ accepted: 1, rejected: [] });
        stored++;
      }
      for (const [p, body] of Object.entries(single)) {
        const res = await post(`/v1/${p}${slash}`, { userId: user, messageId: uid(), ...body });
        expect(res.status, p + slash).toBe(200);
        if (!['alias', 'a'].includes(p)) stored++; // an alias links ids and stores no event
      }
    }
    expect(await events(user)).toHaveLength(stored);
  });

  it('any other path is a JSON 404 and stores nothing', async () => {
    const user = uid('nope');
    const msg = { type: 'page', userId: user, properties: { path: '/x' }, event: 'X', batch: [{ type: 'page', userId: user }] };
    for (const p of ['/v1/trackers', '/v1/pzzz', '/v1/group2', '/v1/tt', '/v1/webhooks/postmark', '/v1/leads/someone/nope', '/v1/batch/x', '/v1/track//', '/v1/BATCH', '/v1/import.json']) {
      const res = await post(p, msg);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('Content-Type'), p).toMatch(/application\/json/);
      expect((await res.json<any>()).error, p).toBe('not_found');
    }
    expect((await readLead(user)).status).toBe(404);
    // Control: the same message on a real route is stored.
    expect((await post('/v1/page', msg)).status).toBe(200);
    expect((await readLead(user)).status).toBe(200);
  });
});

describe('per-message acceptance', () => {
  it('a batch with one bad message: 200, the bad one in `rejected`, the others stored once', async () => {
    const user = uid('mixed');
    const ids = [uid('m'), uid('m'), uid('m'), uid('m')];
    const res = await serverBatch([
      { type: 'page', userId: user, messageId: ids[0], properties: { path: '/pricing' } },
      { type: 'track', userId: user, messageId: ids[1] },
      { type: 'track', userId: user, messageId: ids[2], event: 'Webinar Attended' },
      { type: 'shout', userId: user, messageId: ids[3] },
    ]);
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body).toMatchObject({ success: true, accepted: 2 });
    expect(body.rejected).toEqual([
      { index: 1, messageId: ids[1], problems: [{ path: 'batch[1].event', reason: 'a track call needs the event name' }] },
      { index: 3, messageId: ids[3], problems: [{ path: 'batch[3].type', reason: expect.stringMatching(/"shout" is not a message type/) }] },
    ]);
    expect((await events(user)).map((e) => e.messageId).sort()).toEqual([ids[0], ids[2]].sort());
  });

  it('a broken envelope refuses the whole request, the good messages too', async () => {
    const user = uid('env');
    const res = await serverBatch([{ type: 'page', userId: user, properties: { path: '/' } }], { sentAt: 'last week' });
    expect(res.status).toBe(400);
    expect((await res.json<any>()).problems).toEqual([{ path: 'body.sentAt', reason: expect.stringMatching(/not an ISO-8601 date/) }]);
    expect((await readLead(user)).status).toBe(404);
  });

  it('a single call with an invalid message answers 400 and stores nothing', async () => {
    const user = uid('single');
    for (const [p, body] of [['/v1/track', {}], ['/v1/group', {}], ['/v1/alias', {}], ['/v1/alias', { previousId: 'x' }], ['/v1/alias', { anonymousId: 'y', previousId: 'x' }]] as const) {
      const res = await post(p, { userId: p.endsWith('alias') && !('previousId' in body) ? user : undefined, anonymousId: 'anonymousId' in body ? body.anonymousId : user, ...body });
      expect(res.status, `${p} ${JSON.stringify(body)}`).toBe(400);
      expect((await res.json<any>()).error).toBe('invalid_request');
    }
    expect((await readLead(user)).status).toBe(404);
  });

  it('a site key: a server-side event and an unproven userId are refused per message; the visitor’s own events are stored', async () => {
    const anon = uid('v');
    const res = await browserBatch([
      { type: 'page', anonymousId: anon, messageId: 'p1', properties: { path: '/pricing' } },
      { type: 'track', anonymousId: anon, messageId: 'd1', event: 'Deal Won' },
      { type: 'identify', anonymousId: anon, messageId: 'i1', userId: 'ceo@victim.example' },
      { type: 'alias', anonymousId: anon, messageId: 'a1', previousId: 'someone-else', userId: 'x', context: { userHash: await signUserId('x') } },
      { type: 'track', anonymousId: anon, messageId: 't1', event: 'Form Submitted', properties: { kind: 'newsletter' } },
    ]);
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body.rejected.map((r: any) => [r.index, r.messageId, r.problems[0].path])).toEqual([
      [1, 'd1', 'batch[1].event'],
      [2, 'i1', 'batch[2].userId'], // an email-shaped userId: never under a site key
      [3, 'a1', 'batch[3].previousId'],
    ]);
    expect(body.lead).toEqual({ level: expect.any(String), levelName: expect.any(String) });
    expect((await events(anon)).map((e) => e.messageId).sort()).toEqual(['p1', 't1']);
    expect((await readLead('ceo@victim.example')).status).toBe(404);
    expect((await readLead('x')).status).toBe(404);
  });

  it('a site key: only refused messages is a whole-request refusal; two visitors stay a 400', async () => {
    const anon = uid('v');
    const only = await browserBatch([{ type: 'track', anonymousId: anon, event: 'Deal Won' }]);
    expect(only.status).toBe(403);
    expect(await only.json<any>()).toMatchObject({ error: 'secret_key_required', rejected: [{ index: 0 }] });
    const two = await browserBatch([
      { type: 'page', anonymousId: anon, properties: { path: '/' } },
      { type: 'page', anonymousId: uid('other'), properties: { path: '/' } },
    ]);
    expect(two.status).toBe(400);
    expect((await readLead(anon)).status).toBe(404);
  });
});

describe('alias, group, screen and traits', () => {
  it('alias {previousId, userId} merges the anonymous history into the user (secret key), and an earlier userId too', async () => {
    const anon = uid('anon');
    const old = uid('old');
    const user = uid('user');
    await serverBatch([{ type: 'page', anonymousId: anon, messageId: uid(), properties: { path: '/pricing' } }]);
    await serverBatch([{ type: 'track', userId: old, messageId: uid(), event: 'Webinar Attended' }]);
    expect((await post('/v1/alias', { previousId: anon, userId: user })).status).toBe(200);
    expect((await post('/v1/alias', { previousId: old, userId: user })).status).toBe(200);
    const l = await lead(user);
    // A previousId may have been an anonymousId or a userId (Segment does not say which): both are linked.
    expect(l).toMatchObject({ id: user, userId: user });
    expect(l.anonymousIds).toContain(anon);
    expect(await events(user)).toHaveLength(2);
    expect((await lead(anon)).id).toBe(user);
    expect((await lead(old)).id).toBe(user);
  });

  it('a site key aliases its own anonymous id to a proven userId, but never merges two known leads', async () => {
    const anon = uid('v');
    const first = uid('first');
    const second = uid('second');
    await browserBatch([{ type: 'page', anonymousId: anon, messageId: uid(), properties: { path: '/' } }]);
    const r1 = await browserBatch([{ type: 'alias', anonymousId: anon, previousId: anon, userId: first, context: { userHash: await signUserId(first) } }]);
    expect(r1.status).toBe(200);
    expect((await lead(anon)).id).toBe(first);
    await serverBatch([{ type: 'track', userId: second, messageId: uid(), event: 'Webinar Attended' }]);
    const r2 = await browserBatch([{ type: 'alias', anonymousId: anon, previousId: anon, userId: second, context: { userHash: await signUserId(second) } }]);
    expect(r2.status).toBe(200);
    expect((await lead(first)).id).toBe(first);
    expect((await lead(second)).id).toBe(second);
    expect(await events(second)).toHaveLength(1);
    expect(await events(first)).toHaveLength(1);
  });

  it('group ties the lead to an account with its traits; a later call updates them', async () => {
    const user = uid('g');
    await post('/v1/group', { userId: user, groupId: 'acme', traits: { name: 'Acme', employees: 50 }, timestamp: '2026-01-02T00:00:00Z' });
    await post('/v1/group', { userId: user, groupId: 'acme', traits: { employees: 80 }, timestamp: '2026-01-03T00:00:00Z' });
    await post('/v1/group', { userId: user, groupId: 'acme', traits: { employees: 10, name: 'Old' }, timestamp: '2026-01-01T00:00:00Z' });
    const l = await lead(user);
    expect(l.accounts).toEqual([{ groupId: 'acme', traits: { name: 'Acme', employees: 80 }, at: '2026-01-03T00:00:00.000Z' }]);
  });

  it('screen is scored like page', async () => {
    const a = uid('scr');
    const b = uid('pg');
    await post('/v1/screen', { userId: a, messageId: uid(), name: 'Pricing', properties: { path: '/pricing' } });
    await post('/v1/page', { userId: b, messageId: uid(), name: 'Pricing', properties: { path: '/pricing' } });
    const [screen] = await events(a);
    const [page] = await events(b);
    expect(screen).toMatchObject({ type: 'page', properties: { screen: 'Pricing', path: '/pricing' } });
    expect(page.points).toBeGreaterThan(0);
    expect(screen.points).toBe(page.points);
    expect((await lead(a)).engagementScore).toBe((await lead(b)).engagementScore);
  });

  it('identify traits and context.traits are kept on the lead: the latest value of each, with its time', async () => {
    const user = uid('t');
    await serverBatch([
      { type: 'identify', userId: user, traits: { title: 'VP Marketing', plan: 'free' }, timestamp: '2026-01-02T00:00:00Z' },
      { type: 'track', userId: user, event: 'Custom', context: { traits: { plan: 'pro' } }, timestamp: '2026-01-03T00:00:00Z' },
      { type: 'identify', userId: user, traits: { title: 'Intern', company: 'Acme' }, timestamp: '2026-01-01T00:00:00Z' },
    ]);
    expect((await lead(user)).traits).toEqual({
      title: { value: 'VP Marketing', at: '2026-01-02T00:00:00.000Z' },
      plan: { value: 'pro', at: '2026-01-03T00:00:00.000Z' },
      company: { value: 'Acme', at: '2026-01-01T00:00:00.000Z' },
    });
  });

  it('traits follow a merge', async () => {
    const anon = uid('anon');
    const user = uid('user');
    await serverBatch([{ type: 'identify', anonymousId: anon, traits: { role: 'buyer' } }]);
    await post('/v1/alias', { previousId: anon, userId: user });
    expect((await lead(user)).traits.role.value).toBe('buyer');
  });
});

describe('analytics.js in the browser', () => {
  it('the edge knows a visitor by ajs_anonymous_id, JSON-quoted or bare', async () => {
    const anon = uid('ajs');
    await browserBatch([
      { type: 'page', anonymousId: anon, properties: { path: '/pricing' } },
      { type: 'track', anonymousId: anon, event: 'Page Engaged', properties: { path: '/pricing', seconds: 185 } },
    ]);
    for (const cookie of [`ajs_anonymous_id=${encodeURIComponent(JSON.stringify(anon))}`, `ajs_anonymous_id=${anon}`, `ajs_anonymous_id=%22${anon}%22; other=1`]) {
      const html = await (await call('/pricing', { headers: { Cookie: cookie } })).text();
      expect(html, cookie).toMatch(/<html[^>]* data-ll-level="hot"/);
    }
    // Control: an unknown visitor gets the default.
    const cold = await (await call('/pricing', { headers: { Cookie: 'ajs_anonymous_id=%22nobody%22' } })).text();
    expect(cold).not.toMatch(/data-ll-level="hot"/);
  });

  it('the preflight allows every header analytics.js sends', async () => {
    const res = await call('/v1/b', { method: 'OPTIONS', headers: { Origin: LOCAL_PAGE, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, x-retry-count' } });
    expect(res.status).toBe(204);
    const allowed = res.headers.get('Access-Control-Allow-Headers')!.toLowerCase().split(/,\s*/);
    for (const h of ['content-type', 'x-retry-count', 'authorization', 'content-encoding']) expect(allowed).toContain(h);
  });
});

/**
 * The work queue, `GET /v1/leads`: a query on the D1 lead index that each lead's outbox keeps current — level
 * changes at once, score-only moves within seconds. Every lead of a test carries one prefix, so the test reads
 * only its own leads from the shared index.
 */
import { describe, expect, it } from 'vitest';
import { runInDurableObject } from 'cloudflare:test';
import { SECRET, call, drain, leadObject, serverBatch, uid } from './helpers.js';

const list = async (query: string) => {
  const res = await call(`/v1/leads?${query}`, { headers: { Authorization: SECRET } });
  return { status: res.status, body: await res.json<any>() };
};

/** Leads at each level, created through ingest and delivered to the index. */
async function population(prefix: string) {
  const at = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
  const leads: Record<string, unknown[]> = {
    [`${prefix}-cold`]: [{ type: 'page', properties: { path: '/' }, timestamp: at(5) }],
    [`${prefix}-warm`]: [
      { type: 'page', properties: { path: '/' }, timestamp: at(6) },
      { type: 'page', properties: { path: '/pricing' }, timestamp: at(4) },
    ],
    [`${prefix}-hot`]: [
      { type: 'page', properties: { path: '/pricing' }, timestamp: at(20) },
      { type: 'track', event: 'Page Engaged', properties: { path: '/pricing', seconds: 200 }, timestamp: at(17) },
    ],
    [`${prefix}-very-hot`]: [{ type: 'track', event: 'Form Submitted', properties: { kind: 'demo_request' }, timestamp: at(30) }],
    [`${prefix}-very-hot-later`]: [{ type: 'track', event: 'Form Submitted', properties: { kind: 'demo_request' }, timestamp: at(1) }],
    [`${prefix}-unsubscribed`]: [
      { type: 'track', event: 'Form Submitted', properties: { kind: 'demo_request' }, timestamp: at(10) },
      { type: 'track', event: 'Unsubscribed', timestamp: at(9) },
    ],
  };
  for (const [userId, events] of Object.entries(leads)) {
    await serverBatch(events.map((e) => ({ ...(e as object), userId, messageId: uid('m') })));
    await drain(`u:${userId}`);
  }
  return Object.keys(leads);
}

describe('the work queue', () => {
  it('orders by level, then momentum, then recency; filters by level and contactability; pages without gaps or repeats', async () => {
    const prefix = uid('queue');
    await population(prefix);
    const all = await list(`q=${prefix}`);
    expect(all.status).toBe(200);
    const ids = all.body.leads.map((l: any) => l.id.slice(prefix.length + 1));
    // Two very hot leads with the same momentum: the more recent first. The unsubscribed lead fell to cold with
    // no momentum, so it comes last.
    expect(ids).toEqual(['very-hot-later', 'very-hot', 'hot', 'warm', 'cold', 'unsubscribed']);
    expect(all.body.leads.map((l: any) => l.level)).toEqual(['very_hot', 'very_hot', 'hot', 'warm', 'cold', 'cold']);
    expect(all.body.leads.map((l: any) => l.doNotContact)).toEqual([false, false, false, false, false, true]);
    expect(all.body.leads[0]).toMatchObject({ levelName: expect.any(String), engagementScore: expect.any(Number), lastActivityAt: expect.stringMatching(/Z$/) });
    expect(all.body.nextCursor).toBeNull();

    const hot = await list(`q=${prefix}&level=hot,very_hot`);
    expect(hot.body.leads.map((l: any) => l.id.slice(prefix.length + 1))).toEqual(['very-hot-later', 'very-hot', 'hot']);
    const contactable = await list(`q=${prefix}&contactable=true`);
    expect(contactable.body.leads.map((l: any) => l.id.slice(prefix.length + 1))).not.toContain('unsubscribed');
    expect(contactable.body.leads).toHaveLength(5);

    const recent = await list(`q=${prefix}&order=recent`);
    expect(recent.body.leads[0].id).toBe(`${prefix}-very-hot-later`);

    // Pages of two: the same leads in the same order, each once.
    const paged: string[] = [];
    let cursor: string | null = '';
    for (let i = 0; i < 10 && cursor !== null; i++) {
      const page = await list(`q=${prefix}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      paged.push(...page.body.leads.map((l: any) => l.id));
      cursor = page.body.nextCursor;
    }
    expect(paged).toEqual(all.body.leads.map((l: any) => l.id));
  });

  it('a lead whose score moves without changing level is current in the queue within seconds', async () => {
    const prefix = uid('fresh');
    const userId = `${prefix}-reader`;
    await serverBatch([{ type: 'track', userId, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
    await drain(`u:${userId}`);
    const before = (await list(`q=${prefix}`)).body.leads[0];
    expect(before.level).toBe('very_hot'); // the top: more activity cannot change the level
    await serverBatch([{ type: 'page', userId, messageId: uid('m'), properties: { path: '/docs' } }]);
    await serverBatch([{ type: 'page', userId, messageId: uid('m'), properties: { path: '/pricing' } }]);
    // Two batches, one index row waiting: a busy lead writes its row once per delivery, with the latest state.
    const queued = await runInDurableObject(leadObject(`u:${userId}`), (_, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox WHERE dest = 'index'").one().n);
    expect(queued).toBe(1);
    await drain(`u:${userId}`);
    const after = (await list(`q=${prefix}`)).body.leads[0];
    expect(after.level).toBe(before.level);
    expect(after.leadScore).toBeGreaterThan(before.leadScore);
  });

  it('refuses what it cannot answer, naming the parameter; a site key cannot list leads', async () => {
    const bad = async (query: string, path: string) => {
      const r = await list(query);
      expect(r.status, query).toBe(400);
      expect(r.body.problems.map((p: any) => p.path), query).toContain(path);
    };
    await bad('level=lukewarm', 'level');
    await bad('stage=nope', 'stage');
    await bad('order=alphabetical', 'order');
    await bad('limit=0', 'limit');
    await bad('limit=201', 'limit');
    await bad('contactable=maybe', 'contactable');
    await bad('cursor=not-a-cursor', 'cursor');
    await bad('team=closers', 'team');
    await bad('fit=E', 'fit');
    await bad('sort=score', 'sort');
    await bad('level=hot&level=warm', 'level');
    // A cursor of one order is not one of another.
    const prefix = uid('cur');
    await population(prefix);
    const first = await list(`q=${prefix}&limit=1`);
    await bad(`q=${prefix}&order=recent&cursor=${first.body.nextCursor}`, 'cursor');
    const site = await call('/v1/leads', { headers: { Authorization: 'Basic ' + btoa('pk_demo:'), Origin: 'http://localhost:5173' } });
    expect(site.status).toBe(403);
    // Ids of any text page safely.
    const odd = `${prefix}-ünïcødé-✓`;
    await serverBatch([{ type: 'page', userId: odd, messageId: uid('m'), properties: { path: '/' } }]);
    await drain(`u:${odd}`);
    const page = await list(`q=${encodeURIComponent(prefix)}&order=recent&limit=1`);
    expect(page.status).toBe(200);
    expect((await list(`q=${encodeURIComponent(prefix)}&order=recent&limit=1&cursor=${page.body.nextCursor}`)).status).toBe(200);
  }, 30_000);
});

it('the events listing pages over messageIds of any text', async () => {
  const userId = uid('u');
  await serverBatch(['ünï-1', 'ünï-2', '✓-3'].map((messageId) => ({ type: 'page', userId, messageId, properties: { path: '/' } })));
  const first = await call(`/v1/leads/${userId}/events?limit=1`, { headers: { Authorization: SECRET } });
  expect(first.status).toBe(200);
  const { nextCursor } = await first.json<any>();
  const second = await call(`/v1/leads/${userId}/events?limit=5&cursor=${nextCursor}`, { headers: { Authorization: SECRET } });
  expect(second.status).toBe(200);
  expect((await second.json<any>()).events).toHaveLength(2);
});

/**
 * The Lead Durable Object: SPEC's default model through /v1/batch with backdated events, alarms (run, not
 * slept for), eviction, identity merges, late events, compaction.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileModel } from '../../shared/compile.js';
import type { JsonObject, LeadEvent } from '../../shared/events.js';
import { b2bDefault } from '../../shared/models/b2b-default.js';
import { score } from '../../shared/score.js';
import { DAY, SECRET, browserBatch, call, drain, iso, readLead, restart, serverBatch, uid } from './helpers.js';

const MIN = 60_000;
const demo = (userId: string, t: number) => ({ type: 'track', userId, messageId: uid('m'), event: 'Form Submitted', timestamp: iso(t), properties: { kind: 'demo_request' } });
const lead = async (id: string) => (await readLead(id)).json<any>();

afterEach(() => vi.useRealTimers());

describe('SPEC’s default model through /v1/batch (backdated with a secret key)', () => {
  it.each([
    [3 * DAY - MIN, 'very_hot'],
    [3 * DAY + MIN, 'hot'],
    [10 * DAY - MIN, 'hot'],
    [10 * DAY + MIN, 'engaged'],
    [24 * DAY - MIN, 'engaged'],
    [24 * DAY + MIN, 'warm'],
    [54 * DAY - MIN, 'warm'],
    [54 * DAY + MIN, 'cold'],
  ])('a demo request %d ms ago, idle since: %s', async (ago, level) => {
    const user = uid('u');
    const res = await serverBatch([demo(user, Date.now() - ago)]);
    expect((await res.json<any>()).lead.level).toBe(level);
    expect((await lead(user)).level).toBe(level);
  });

  it('records each ladder step in the level history, with its reason', async () => {
    const user = uid('u');
    const t0 = Date.now() - 60 * DAY;
    await serverBatch([demo(user, t0)]);
    const { history } = await lead(user);
    expect(history.map((h: any) => `${h.from}>${h.to}@${Math.round((Date.parse(h.at) - t0) / DAY)}`)).toEqual([
      'warm>cold@54',
      'engaged>warm@24',
      'hot>engaged@10',
      'very_hot>hot@3',
      'cold>very_hot@0',
    ]);
    expect(history[0].reason.kind).toBe('ladder');
  });

  it('explains the level: the reason and the points behind it', async () => {
    const user = uid('u');
    const t = Date.now() - DAY;
    await serverBatch([
      { type: 'page', userId: user, timestamp: iso(t), properties: { path: '/pricing' } },
      { type: 'track', userId: user, timestamp: iso(t + MIN), event: 'Page Engaged', properties: { path: '/pricing', seconds: 200 } },
    ]);
    const body = await lead(user);
    expect(body).toMatchObject({ id: user, level: 'hot', engagementScore: 20, leadScore: 20, doNotContact: false, diversity: 2 });
    expect(body.reasons[0]).toMatchObject({ kind: 'floor', text: 'Pricing page read ≥ 3 min: at least Hot' });
    expect(body.reasons.slice(1).map((r: any) => r.text)).toEqual(['Pricing visit: +10 (1 event in the last 30 days)', 'Pricing dwell ≥ 3 min: +10 (1 event in the last 30 days)']);
  });

  it('a lead never lifted is explained by its score tier', async () => {
    const user = uid('u');
    await serverBatch([{ type: 'page', userId: user, properties: { path: '/' } }]);
    expect((await lead(user)).reasons[0]).toMatchObject({ kind: 'tier', text: 'Engagement score 2 is in Cold (0–30)' });
  });

  it('unsubscribe: cold and do-not-contact at once', async () => {
    const user = uid('u');
    await serverBatch([demo(user, Date.now() - 2 * MIN), { type: 'track', userId: user, event: 'Unsubscribed', timestamp: iso(Date.now() - MIN) }]);
    expect(await lead(user)).toMatchObject({ level: 'cold', doNotContact: true, leadScore: 0 });
  });
});

describe('alarms', () => {
  it('keeps exactly one alarm, at the next self-driven change, and the alarm records the change', async () => {
    const user = uid('u');
    const t0 = Date.now() - 3 * DAY + 10_000; // very_hot for 10 more seconds
    await serverBatch([demo(user, t0)]);
    const stub = env.LEAD.getByName(`u:${user}`);
    await drain(`u:${user}`);
    const alarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarm).toBe(t0 + 3 * DAY);
    // Time passes (no sleeping): the alarm fires after the step is due.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 3 * DAY + 1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const body = await lead(user);
    expect(body.level).toBe('hot');
    expect(body.history[0]).toMatchObject({ from: 'very_hot', to: 'hot', at: iso(t0 + 3 * DAY) });
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(t0 + 10 * DAY);
  });

  it('is idempotent: running it twice records nothing twice', async () => {
    const user = uid('u');
    const t0 = Date.now() - 3 * DAY - MIN;
    await serverBatch([demo(user, t0)]);
    const stub = env.LEAD.getByName(`u:${user}`);
    for (let i = 0; i < 2; i++) await runDurableObjectAlarm(stub);
    await runInDurableObject(stub, (instance) => instance.alarm!());
    const body = await lead(user);
    expect(body.history.filter((h: any) => h.to === 'hot')).toHaveLength(1);
  });
});

describe('state survives eviction', () => {
  it('scores, dedupe and the alarm come back from storage, not memory', async () => {
    const user = uid('u');
    const ids = [uid('m'), uid('m')];
    const batch = [
      { type: 'page', userId: user, messageId: ids[0], timestamp: iso(Date.now() - 2 * DAY), properties: { path: '/pricing' } },
      { type: 'track', userId: user, messageId: ids[1], timestamp: iso(Date.now() - DAY), event: 'Webinar Attended' },
    ];
    await serverBatch(batch);
    await drain(`u:${user}`); // at rest: any notification delivered, so only storage could change the read
    const before = await lead(user);
    await restart(`u:${user}`);
    expect(await lead(user)).toEqual(before);
    expect(await (await serverBatch(batch)).json()).toMatchObject({ accepted: 0, duplicates: 2 });
    await restart(`u:${user}`);
    const more = await (await serverBatch([{ type: 'track', userId: user, event: 'Webinar Attended', messageId: uid('m') }])).json<any>();
    expect(more.lead.leadScore).toBe(40);
  });

  it('a changed model rescores the stored history in the alarm; reads meanwhile answer as last scored', async () => {
    const user = uid('u');
    await serverBatch([{ type: 'page', userId: user, properties: { path: '/pricing' } }, demo(user, Date.now() - MIN)]);
    await drain(`u:${user}`);
    const before = await lead(user);
    const stub = env.LEAD.getByName(`u:${user}`);
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(`UPDATE meta SET v = json_set(v, '$.fingerprint', 'an older model', '$.types[0].leadSum', 999) WHERE k = 'state'`);
    });
    await restart(`u:${user}`);
    // A read does not rescore: it shows the last committed result, marked as pending.
    const pending = await lead(user);
    expect(pending).toMatchObject({ level: before.level, leadScore: before.leadScore, rescorePending: true });
    // The alarm does.
    await runDurableObjectAlarm(env.LEAD.getByName(`u:${user}`));
    const after = await lead(user);
    expect(after.rescorePending).toBeUndefined();
    expect(after.leadScore).toBe(before.leadScore);
    expect(after.reasons).toEqual(before.reasons);
  });
});

describe('identity', () => {
  it('an anonymous history merges into the known lead exactly once; every id resolves to it', async () => {
    const anon = uid('a');
    const email = `${anon}@Example.com`;
    const user = `${anon}-user`;
    const t = Date.now() - 60 * MIN;
    await browserBatch([
      { type: 'page', anonymousId: anon, messageId: uid('m'), timestamp: iso(t), properties: { path: '/pricing' } },
      { type: 'page', anonymousId: anon, messageId: uid('m'), timestamp: iso(t + MIN), properties: { path: '/features' } },
    ]);
    // A form identifies by email; later the CRM knows the userId.
    const identify = { type: 'identify', anonymousId: anon, messageId: uid('m'), traits: { email } };
    await browserBatch([identify, { type: 'track', anonymousId: anon, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'content_download' } }]);
    expect(await lead(email.toLowerCase())).toMatchObject({ id: email.toLowerCase(), leadScore: 19, anonymousIds: [anon] });
    await serverBatch([{ type: 'identify', userId: user, messageId: uid('m'), traits: { email } }]);
    // Re-merging is harmless.
    await browserBatch([identify]);
    await serverBatch([{ type: 'identify', userId: user, anonymousId: anon, messageId: uid('m'), traits: { email } }]);
    for (const id of [user, email, email.toUpperCase(), anon]) {
      expect(await lead(id), id).toMatchObject({ id: user, userId: user, email: email.toLowerCase(), leadScore: 19 });
    }
    // Later anonymous events reach the known lead.
    const res = await browserBatch([{ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/' } }]);
    expect((await res.json<any>()).lead.level).toBeDefined();
    expect((await lead(user)).leadScore).toBe(21);
    const events = await (await call(`/v1/leads/${user}/events?limit=100`, { headers: { Authorization: SECRET } })).json<any>();
    expect(events.events.filter((e: any) => e.type === 'page')).toHaveLength(3);
  });

  it('a batch that pages anonymously and identifies in one go lands on one lead', async () => {
    const anon = uid('a');
    const email = `${anon}@example.com`;
    const res = await browserBatch([
      { type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/pricing' } },
      { type: 'identify', anonymousId: anon, messageId: uid('m'), traits: { email } },
    ]);
    expect(await res.json()).toMatchObject({ accepted: 2, lead: { level: 'cold' } });
    expect(await lead(anon)).toMatchObject({ id: email, leadScore: 10 });
  });
});

describe('late events and retries', () => {
  it('any arrival order gives what a full recomputation gives', async () => {
    const user = uid('u');
    const now = Date.now();
    const events = [
      { type: 'page', properties: { path: '/' }, at: now - 20 * DAY },
      { type: 'page', properties: { path: '/pricing' }, at: now - 12 * DAY },
      { type: 'track', event: 'Email Link Clicked', properties: {}, at: now - 9 * DAY },
      { type: 'track', event: 'Form Submitted', properties: { kind: 'case_study_download' }, at: now - 5 * DAY },
      { type: 'page', properties: { path: '/docs' }, at: now - 2 * DAY },
      { type: 'page', properties: { path: '/docs/api' }, at: now - 2 * DAY + MIN },
      { type: 'page', properties: { path: '/compare/x' }, at: now - 2 * DAY + 2 * MIN },
    ].map((e, i) => ({ ...e, messageId: `late-${user}-${i}` }));
    const msg = (e: (typeof events)[number]) => ({ type: e.type, userId: user, messageId: e.messageId, event: (e as any).event, properties: e.properties, timestamp: iso(e.at) });
    // Newest first, one per batch, each sent twice.
    for (const e of [...events].reverse()) {
      await serverBatch([msg(e)]);
      await serverBatch([msg(e)]);
    }
    const model = compileModel(b2bDefault);
    const expected = score(
      model,
      events.map((e): LeadEvent => ({ messageId: e.messageId, type: e.type as 'page', event: (e as any).event, properties: e.properties as JsonObject, timestamp: e.at })),
      Date.now(),
    ).types[0];
    const body = await lead(user);
    expect(body).toMatchObject({ level: expected.level, engagementScore: expected.engagementScore, leadScore: expected.leadScore, momentum: expected.momentum });
    expect(body.level).toBe('hot');
  });

  it('a late event refolds through hundreds of stored events, many at one instant, each exactly once', async () => {
    const user = uid('u');
    const now = Date.now();
    const at = now - 3 * DAY;
    // 300 views at one instant (more than a read page holds), in a shuffled id order, then 250 spread after.
    const events = [
      ...Array.from({ length: 300 }, (_, i) => ({ type: 'page', properties: { path: `/docs/${i}` }, at, messageId: `m-${user}-${(i * 7919) % 300}` })),
      ...Array.from({ length: 250 }, (_, i) => ({ type: 'page', properties: { path: i % 10 ? `/p${i}` : '/pricing' }, at: at + (i + 1) * 10 * MIN, messageId: `n-${user}-${i}` })),
      { type: 'track', event: 'Form Submitted', properties: { kind: 'case_study_download' }, at: at + DAY + 3 * MIN, messageId: `f-${user}` },
    ];
    const late = { type: 'track', event: 'Email Link Clicked', properties: {}, at: at - 5 * MIN, messageId: `l-${user}` };
    const msg = (e: { type: string; event?: string; properties: object; at: number; messageId: string }) => ({ type: e.type, userId: user, messageId: e.messageId, event: e.event, properties: e.properties, timestamp: iso(e.at) });
    for (let i = 0; i < events.length; i += 100) expect((await serverBatch(events.slice(i, i + 100).map(msg))).status).toBe(200);
    expect((await serverBatch([msg(late)])).status).toBe(200);
    const all = [late, ...events];
    const expected = score(
      compileModel(b2bDefault),
      all.map((e): LeadEvent => ({ messageId: e.messageId, type: e.type as 'page', event: (e as { event?: string }).event, properties: e.properties as JsonObject, timestamp: e.at })),
      Date.now(),
    ).types[0];
    const body = await lead(user);
    expect(body).toMatchObject({ events: all.length, level: expected.level, engagementScore: expected.engagementScore, leadScore: expected.leadScore, momentum: expected.momentum });
  });
});

describe('marks on busy days', () => {
  it('a busy day keeps marks that survive eviction; late events after a restart rewind to them and score as a full recomputation does', async () => {
    const user = uid('u');
    const day = Date.now() - 3 * DAY;
    // 400 views in one day (two minutes apart), pricing among them, then a few the next day.
    const events = Array.from({ length: 400 }, (_, i) => ({ type: 'page', properties: { path: i % 25 ? `/p${i % 7}` : '/pricing' }, at: day + i * 2 * MIN, messageId: `b-${user}-${i}` }));
    const msg = (e: { type: string; event?: string; properties: object; at: number; messageId: string }) => ({ type: e.type, userId: user, messageId: e.messageId, event: e.event, properties: e.properties, timestamp: iso(e.at) });
    for (let i = 0; i < events.length; i += 100) expect((await serverBatch(events.slice(i, i + 100).map(msg))).status).toBe(200);
    const key = `u:${user}`;
    const marks = () => runInDurableObject(env.LEAD.getByName(key), (_, state) => state.storage.sql.exec('SELECT COUNT(*) AS n FROM checkpoints WHERE day < 0').one().n as number);
    expect(await marks()).toBeGreaterThanOrEqual(5);
    await restart(key);
    // Late, in the middle of the busy day: one that earns nothing more (the day's page points are spent) and one that does.
    const late = [
      { type: 'page', properties: { path: '/p3' }, at: day + 201 * MIN, messageId: `l1-${user}` },
      { type: 'track', event: 'Form Submitted', properties: { kind: 'case_study_download' }, at: day + 303 * MIN, messageId: `l2-${user}` },
    ];
    for (const e of late) {
      expect((await serverBatch([msg(e)])).status).toBe(200);
      await restart(key);
    }
    const all = [...events, ...late];
    const expected = score(
      compileModel(b2bDefault),
      all.map((e): LeadEvent => ({ messageId: e.messageId, type: e.type as 'page', event: (e as { event?: string }).event, properties: e.properties as JsonObject, timestamp: e.at })),
      Date.now(),
    ).types[0];
    expect(await lead(user)).toMatchObject({ events: all.length, level: expected.level, engagementScore: expected.engagementScore, leadScore: expected.leadScore, momentum: expected.momentum });
  });
});

describe('retention', () => {
  it('compacts raw events past the retention into day rollups; scores do not change', async () => {
    const user = uid('u');
    const now = Date.now();
    const old = Array.from({ length: 30 }, (_, i) => ({ type: 'page', userId: user, messageId: uid('m'), timestamp: iso(now - (500 - i * 3) * DAY), properties: { path: `/p${i}` } }));
    const recent = [{ type: 'page', userId: user, messageId: uid('m'), timestamp: iso(now - DAY), properties: { path: '/pricing' } }];
    await serverBatch([...old, ...recent]);
    const before = await lead(user);
    const stub = env.LEAD.getByName(`u:${user}`);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(now + 1);
    await runInDurableObject(stub, (instance) => instance.alarm!());
    vi.useRealTimers();
    const counts = await runInDurableObject(stub, (_, state) => ({
      events: state.storage.sql.exec("SELECT COUNT(*) AS n FROM events WHERE body != ''").one().n,
      rollups: state.storage.sql.exec('SELECT COALESCE(SUM(events), 0) AS n FROM rollups').one().n,
    }));
    expect(counts.events).toBeLessThan(31);
    expect(Number(counts.events) + Number(counts.rollups)).toBe(31);
    const after = await lead(user);
    expect(after).toMatchObject({ leadScore: before.leadScore, engagementScore: before.engagementScore, level: before.level, events: 31 });
    // A late event still rescores from the checkpoint kept at the cut.
    await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), timestamp: iso(now - 3 * DAY), event: 'Webinar Attended' }]);
    expect((await lead(user)).leadScore).toBe(before.leadScore + 15);
  });
});

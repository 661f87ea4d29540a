/**
 * Merges that cannot strand history: the giver forwards only once the receiver holds everything, a merge cut
 * short is finished by the receiver's timer, and long histories move in bounded pages.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeadRpc } from '../../worker/lead/index.js';
import { DAY, iso, leadObject, readLead, restart, serverBatch, uid } from './helpers.js';

const lead = async (id: string) => (await readLead(id)).json<any>();
const rpc = (key: string) => leadObject(key) as unknown as LeadRpc;
afterEach(() => vi.useRealTimers());

describe('merge', () => {
  it('a giver that handed its history over but was never told the receiver holds it keeps answering with it', async () => {
    const anon = uid('a');
    await serverBatch([{ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/pricing' } }]);
    // A receiver took the first page and died before completing the hand-over.
    const page = await rpc(`a:${anon}`).handOver(`u:${uid('u')}`, 0, 'secret');
    expect(page).toMatchObject({ accepted: true, more: false });
    // Reads of the giver's id still find its history: it does not forward yet.
    expect(await lead(anon)).toMatchObject({ id: anon, leadScore: 10 });
  });

  it('a merge cut short is finished by the receiver’s timer; the giver then forwards and drops its copy', async () => {
    const anon = uid('a');
    const user = uid('u');
    await serverBatch([{ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/pricing' } }]);
    await serverBatch([{ type: 'page', userId: user, messageId: uid('m'), properties: { path: '/' } }]);
    await restart(`a:${anon}`, `u:${user}`); // both at rest
    // The receiver recorded the merge it started (as a batch does before its first await), then went away.
    await runInDurableObject(leadObject(`u:${user}`), (_, state) => {
      state.storage.sql.exec('INSERT INTO aliases (alias, confirmed) VALUES (?, 0)', `a:${anon}`);
      state.storage.sql.exec("INSERT INTO timers (kind, key, due_at, payload) VALUES ('merge', ?, ?, 'secret')", `a:${anon}`, Date.now() - 1);
      // The alarm stands where the crash left it; the test runs it rather than racing it.
      void state.storage.setAlarm(Date.now() + 60_000);
    });
    await restart(); // the crash
    await runDurableObjectAlarm(leadObject(`u:${user}`));
    expect(await lead(anon)).toMatchObject({ id: user, leadScore: 12 });
    const giver = await runInDurableObject(leadObject(`a:${anon}`), (_, state) => ({
      events: state.storage.sql.exec('SELECT COUNT(*) AS n FROM events').one().n,
      forward: state.storage.sql.exec("SELECT v FROM meta WHERE k = 'forward_to'").one().v,
    }));
    expect(giver).toEqual({ events: 0, forward: `u:${user}` });
    const timers = await runInDurableObject(leadObject(`u:${user}`), (_, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM timers WHERE kind = 'merge'").one().n);
    expect(timers).toBe(0);
  });

  it('a long anonymous history moves in pages, every event exactly once', async () => {
    const anon = uid('a');
    const user = uid('u');
    const t0 = Date.now() - 20 * DAY;
    const events = Array.from({ length: 1_200 }, (_, i) => ({ type: 'page', anonymousId: anon, messageId: `${anon}-${i}`, timestamp: iso(t0 + i * 60_000), properties: { path: `/docs/${i}` } }));
    for (let i = 0; i < events.length; i += 400) await serverBatch(events.slice(i, i + 400));
    const before = await lead(anon);
    await serverBatch([{ type: 'identify', userId: user, anonymousId: anon, messageId: uid('m') }]);
    const after = await lead(user);
    expect(after).toMatchObject({ leadScore: before.leadScore, engagementScore: before.engagementScore, level: before.level, events: 1_201 });
  });
});

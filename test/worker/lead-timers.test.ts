/**
 * Timers as rows: the one alarm is the earliest due time, a batch only ever moves it earlier, and an early
 * alarm is harmless — it finds nothing due and sets the true time.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DAY, migrateIndex, alarmOf, drain, iso, leadObject, readLead, serverBatch, uid } from './helpers.js';

const lead = async (id: string) => (await readLead(id)).json<any>();
const timers = (key: string) =>
  runInDurableObject(leadObject(key), (_, state) => state.storage.sql.exec('SELECT kind, due_at FROM timers ORDER BY due_at').toArray() as { kind: string; due_at: number }[]);
afterEach(() => vi.useRealTimers());
// The lead index the outbox delivers to, so no delivery retry stands among the timers.
beforeAll(migrateIndex);

describe('timers', () => {
  it('the alarm is the earliest timer row', async () => {
    const user = uid('u');
    const t0 = Date.now() - 2 * DAY;
    await serverBatch([
      { type: 'page', userId: user, messageId: uid('m'), timestamp: iso(t0 - DAY), properties: { path: '/' } },
      { type: 'track', userId: user, messageId: uid('m'), timestamp: iso(t0), event: 'Form Submitted', properties: { kind: 'demo_request' } },
    ]);
    const key = `u:${user}`;
    await drain(key);
    const rows = await timers(key);
    // The move to very_hot, routed to ae and manager, started their response SLAs: a row each too.
    expect(rows.map((r) => r.kind).sort()).toEqual(['compact', 'score', 'sla', 'sla']);
    expect(await alarmOf(key)).toBe(Math.min(...rows.map((r) => r.due_at)));
    expect(rows.find((r) => r.kind === 'score')!.due_at).toBe(t0 + 3 * DAY);
  });

  it('a batch that moves the next change later leaves the alarm early; the early alarm sets the true time', async () => {
    // An anonymous visitor: nobody's to call, so no response SLA stands earlier than the score timer.
    const user = uid('a');
    const key = `a:${user}`;
    const t0 = Date.now() - 2 * DAY;
    await serverBatch([{ type: 'track', anonymousId: user, messageId: uid('m'), timestamp: iso(t0), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
    await drain(key);
    expect(await alarmOf(key)).toBe(t0 + 3 * DAY);
    // New activity: very_hot now lasts until 3 days after it.
    const t1 = Date.now() - 60_000;
    await serverBatch([{ type: 'page', anonymousId: user, messageId: uid('m'), timestamp: iso(t1), properties: { path: '/pricing' } }]);
    // The batch did not rewrite the score timer later (the alarm recomputes it); the alarm is the earliest row —
    // here the index refresh the new scores asked for, within 2 s.
    const rows = await timers(key);
    expect(rows.find((r) => r.kind === 'score')!.due_at).toBe(t0 + 3 * DAY);
    expect(rows.find((r) => r.kind === 'outbox')!.due_at).toBeLessThanOrEqual(Date.now() + 2_000);
    expect(await alarmOf(key)).toBe(Math.min(...rows.map((r) => r.due_at)));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 3 * DAY + 1);
    await runDurableObjectAlarm(leadObject(key));
    expect((await lead(user)).level).toBe('very_hot');
    expect(await alarmOf(key)).toBe(t1 + 3 * DAY);
    // Running it again changes nothing.
    await runInDurableObject(leadObject(key), (instance) => instance.alarm!());
    expect(await alarmOf(key)).toBe(t1 + 3 * DAY);
    expect((await lead(user)).history).toHaveLength(1);
  });
});

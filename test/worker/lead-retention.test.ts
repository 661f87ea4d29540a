/**
 * Retention: compaction keeps its promise — scores unchanged, archived ids still deduplicated, and a model
 * change after compaction rescores from the stored baseline instead of dropping the compacted history.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DAY, drain, iso, leadObject, ledgerSum, listedLedger, readLead, restart, serverBatch, uid } from './helpers.js';

const lead = async (id: string) => (await readLead(id)).json<any>();
afterEach(() => vi.useRealTimers());

/** A lead with 30 page views 410–500 days ago (past the 400-day retention) and a webinar yesterday. */
async function oldLead() {
  const user = uid('u');
  const now = Date.now();
  const old = Array.from({ length: 30 }, (_, i) => ({ type: 'page', userId: user, messageId: uid('m'), timestamp: iso(now - (500 - i * 3) * DAY), properties: { path: `/p${i}` } }));
  await serverBatch([...old, { type: 'track', userId: user, messageId: uid('m'), timestamp: iso(now - DAY), event: 'Webinar Attended' }]);
  await drain(`u:${user}`);
  const before = await lead(user);
  // The compaction timer falls due; the alarm compacts.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now + 1);
  await runDurableObjectAlarm(leadObject(`u:${user}`));
  vi.useRealTimers();
  return { user, before, old };
}

describe('compaction', () => {
  it('keeps the scores, and says what was compacted', async () => {
    const { user, before } = await oldLead();
    const after = await lead(user);
    expect(after).toMatchObject({ leadScore: before.leadScore, engagementScore: before.engagementScore, level: before.level, events: 31 });
    expect(after.retention.compactedEvents).toBeGreaterThan(0);
    expect(after.retention.points).toBeGreaterThan(0);
    // The lead read's ledger opens with the balance of the history before it, and still adds up; so does the
    // events listing's, whose last page opens with the balance of the compacted history.
    expect(after.ledger[0].kind).toBe('opening');
    expect([ledgerSum(after.ledger, 'lead'), ledgerSum(after.ledger, 'engagement')]).toEqual([after.leadScore, after.engagementScore]);
    const { entries } = await listedLedger(user, 7);
    expect([ledgerSum(entries, 'lead'), ledgerSum(entries, 'engagement')]).toEqual([after.leadScore, after.engagementScore]);
    expect(entries.filter((x) => x.kind === 'opening').reduce((s, x) => s + x.points, 0)).toBe(after.retention.points);
  });

  it('a retried message older than the retained history is still a duplicate', async () => {
    const { user, old } = await oldLead();
    const retry = await (await serverBatch([old[0]])).json<any>();
    expect(retry).toMatchObject({ accepted: 0, duplicates: 1 });
    const fresh = { type: 'page', userId: user, messageId: uid('m'), timestamp: iso(Date.now() - 480 * DAY), properties: { path: '/late' } };
    expect(await (await serverBatch([fresh])).json<any>()).toMatchObject({ accepted: 0, archived: 1 });
    expect(await (await serverBatch([fresh])).json<any>()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await lead(user)).events).toBe(32);
  });

  it('a model change after compaction rescores from the baseline: no history is lost, and the lead read says so', async () => {
    const { user, before } = await oldLead();
    const key = `u:${user}`;
    await runInDurableObject(leadObject(key), (_, state) => {
      state.storage.sql.exec(`UPDATE meta SET v = json_set(v, '$.fingerprint', 'an older model', '$.version', 0) WHERE k = 'state'`);
    });
    await restart(key);
    await runDurableObjectAlarm(leadObject(key));
    const after = await lead(user);
    expect(after.rescorePending).toBeUndefined();
    expect(after.leadScore).toBe(before.leadScore);
    expect(after.retention.text).toMatch(/as scored under model b2b-default v0/);
    // Scoring goes on from the rebased state.
    await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended' }]);
    const later = await lead(user);
    expect(later.leadScore).toBe(before.leadScore + 15);
    // The ledger opens with the carried balance and adds up.
    expect([ledgerSum(later.ledger, 'lead'), ledgerSum(later.ledger, 'engagement')]).toEqual([later.leadScore, later.engagementScore]);
  });
});

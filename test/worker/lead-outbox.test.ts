/**
 * The outbox: a level change and its news for the lead index commit together; delivery is by the alarm, in
 * order, retried with backoff while the index is unavailable, and nothing is lost.
 */
import { applyD1Migrations, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DAY, migrateIndex, drain, iso, leadObject, serverBatch, uid } from './helpers.js';
import { retryDelay } from '../../worker/lead/outbox.js';

const indexRow = (key: string) => env.INDEX.prepare('SELECT * FROM leads WHERE key = ?').bind(key).first<any>();
const outbox = (key: string) => runInDurableObject(leadObject(key), (_, state) => state.storage.sql.exec('SELECT * FROM outbox ORDER BY seq').toArray() as any[]);
afterEach(() => vi.useRealTimers());
// The lead index the outbox delivers to, so no delivery retry stands among the timers.
beforeAll(migrateIndex);

describe('outbox → lead index', () => {
  it('a new lead and each level change reach the index, time-driven ones too', async () => {
    const user = uid('u');
    const key = `u:${user}`;
    const t0 = Date.now() - 3 * DAY + 5_000;
    await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), timestamp: iso(t0), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
    await drain(key);
    expect(await indexRow(key)).toMatchObject({ id: user, level: 'very_hot', level_rank: 4, lead_score: 20, model: 'b2b-default' });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 3 * DAY + 1);
    await runDurableObjectAlarm(leadObject(key)); // the ladder step, committed with its outbox row
    await runDurableObjectAlarm(leadObject(key)); // its delivery
    expect(await indexRow(key)).toMatchObject({ level: 'hot', level_rank: 3 });
    expect(await outbox(key)).toEqual([]);
  });

  it('while the index is unavailable the news waits and is retried; nothing is lost', async () => {
    await env.INDEX.exec('DROP TABLE leads');
    try {
      const user = uid('u');
      const key = `u:${user}`;
      await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'contact_sales' } }]);
      await runDurableObjectAlarm(leadObject(key));
      // (The lead, turned very_hot, also has notifications queued: test/worker/notifications.test.ts.) The alarm may
      // have fired by itself and still be sending them, its index attempt not yet recorded: wait for that attempt.
      let row: any;
      for (let i = 0; i < 80 && !(row = (await outbox(key)).find((r) => r.dest === 'index' && r.attempts > 0)); i++) await new Promise((r) => setTimeout(r, 25));
      expect(row).toMatchObject({ dest: 'index', attempts: 1 });
      expect(row.last_error).toMatch(/leads/);
      expect(row.next_at).toBeGreaterThan(Date.now());
      await env.INDEX.exec('DELETE FROM d1_migrations');
      await applyD1Migrations(env.INDEX, env.INDEX_MIGRATIONS);
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(row.next_at + 1);
      await runDurableObjectAlarm(leadObject(key));
      expect(await outbox(key)).toEqual([]);
      expect(await indexRow(key)).toMatchObject({ level: 'very_hot' });
    } finally {
      vi.useRealTimers();
      await env.INDEX.exec('CREATE TABLE IF NOT EXISTS leads (key TEXT PRIMARY KEY)').catch(() => undefined);
    }
  });

  it('backs off exponentially with jitter, to at most an hour', () => {
    expect(retryDelay(0, () => 0)).toBe(1_000);
    expect(retryDelay(0, () => 1)).toBe(2_000);
    expect(retryDelay(5, () => 1)).toBe(64_000);
    expect(retryDelay(30, () => 1)).toBe(3_600_000);
  });
});

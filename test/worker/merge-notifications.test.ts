/**
 * Notifications across a merge, to the real loopback receiver (test/e2e/receiver.ts): what the giver still owed a
 * team goes with its history (same webhook id), and the receiver does not tell a team again what the giver told.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drain, env, leadObject, serverBatch, uid } from './helpers.js';

const receiver = env.TEST_RECEIVER;
interface Received {
  headers: Record<string, string>;
  body: string;
  status: number;
}
const mode = (box: string, status: number) => fetch(`${receiver}/_mode/${box}`, { method: 'POST', body: JSON.stringify({ status, delayMs: 0 }) });
async function received(box: string, needle: string): Promise<Received[]> {
  const all = (await (await fetch(`${receiver}/_log/${box}`)).json()) as Received[];
  return all.filter((r) => r.body.includes(needle) && r.headers['webhook-id']);
}
const outbox = (key: string) =>
  runInDurableObject(leadObject(key), (_, state) =>
    state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'outbox'").toArray().length ? (state.storage.sql.exec('SELECT * FROM outbox ORDER BY seq').toArray() as any[]) : [],
  );
async function later(key: string, at: number) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  await runDurableObjectAlarm(leadObject(key));
}

/** An email lead (`e:…`) that asked for a demo: very_hot, told to the ae and manager teams. */
async function veryHotEmailLead(email: string) {
  const anon = uid('a');
  await serverBatch([{ type: 'identify', anonymousId: anon, messageId: uid('m'), traits: { email } }]);
  await serverBatch([{ type: 'track', anonymousId: anon, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
}

afterEach(async () => {
  vi.useRealTimers();
  for (const box of ['ae', 'manager']) await mode(box, 200);
});

describe('a merge and the notifications of the lead merged in', () => {
  it('a notification still queued (receiver down) is handed over and delivered once, under its id, and its delivery row ends delivered', async () => {
    await mode('manager', 503);
    const email = `${uid('ada')}@x.com`;
    const user = uid('u');
    await veryHotEmailLead(email);
    const giver = `e:${email}`;
    let down: Received[] = [];
    for (let i = 0; i < 20 && !down.length; i++) {
      await runDurableObjectAlarm(leadObject(giver)); // tried: 503, stays queued
      down = await received('manager', email);
      if (!down.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(down.length).toBeGreaterThanOrEqual(1);
    const id = down[0].headers['webhook-id'];
    expect((await outbox(giver)).some((r) => r.dest === 'notify:manager:0')).toBe(true);

    // The CRM identifies ada by userId: u:user takes in e:ada.
    expect((await serverBatch([{ type: 'identify', userId: user, messageId: uid('m'), traits: { email } }])).status).toBe(200);
    const fwd = await runInDurableObject(leadObject(giver), (_, state) => state.storage.sql.exec("SELECT v FROM meta WHERE k = 'forward_to'").toArray());
    expect(fwd).toEqual([{ v: `u:${user}` }]);
    const taken = (await outbox(`u:${user}`)).filter((r) => r.dest === 'notify:manager:0');
    expect(taken).toHaveLength(1);
    expect(JSON.parse(taken[0].payload)).toMatchObject({ id, leadKey: `u:${user}` });

    await mode('manager', 200);
    const t0 = Date.now();
    for (let m = 1; m <= 120 && (await outbox(`u:${user}`)).some((r) => r.dest === 'notify:manager:0'); m++) await later(`u:${user}`, t0 + m * 60_000);
    const ok = (await received('manager', email)).filter((r) => r.status === 200);
    expect(ok.map((r) => r.headers['webhook-id'])).toEqual([id]);
    const row = await env.INDEX.prepare('SELECT status FROM deliveries WHERE id = ?').bind(id).first<{ status: string }>();
    expect(row).toEqual({ status: 'delivered' });
  });

  it('a merge into a new lead does not tell the team again of the level the merged lead reached', async () => {
    const email = `${uid('ada')}@x.com`;
    const user = uid('u');
    await veryHotEmailLead(email);
    await drain(`e:${email}`);
    const told = await received('manager', email);
    expect(told.map((r) => r.status)).toEqual([200]);

    await serverBatch([{ type: 'identify', userId: user, messageId: uid('m'), traits: { email } }]);
    await drain(`u:${user}`);
    expect((await received('manager', email)).map((r) => r.headers['webhook-id'])).toEqual([told[0].headers['webhook-id']]);
    expect((await received('ae', email)).map((r) => r.headers['webhook-id'])).toHaveLength(1);
  });
});

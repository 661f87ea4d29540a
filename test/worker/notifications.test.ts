/**
 * Notifications end to end in workerd, to a real HTTP receiver on loopback (test/e2e/receiver.ts): a lead's
 * move up is committed with its outbox rows, the alarm delivers them signed per Standard Webhooks (checked
 * with the specification's own library), in order per destination, through outages and slow answers, and the
 * deliveries are listed, retried and tested over the API. Alarms are driven, never waited for.
 */
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import app from '../../worker/index.js';
import { DEV_WEBHOOK_SECRET } from '../../worker/notify/webhook.js';
import { RETRY_SPAN_MS } from '../../worker/lead/notify.js';
import { SECRET, call, drain, env, leadObject, serverBatch, uid } from './helpers.js';
import { mode, received, verify, type Received } from './receiver.js';

const receiver = env.TEST_RECEIVER;

const outbox = (key: string) =>
  runInDurableObject(leadObject(key), (_, state) =>
    state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'outbox'").toArray().length ? (state.storage.sql.exec('SELECT * FROM outbox ORDER BY seq').toArray() as any[]) : [],
  );
const deliveriesOf = (key: string) => env.INDEX.prepare('SELECT * FROM deliveries WHERE lead_key = ? ORDER BY created_at, id').bind(key).all<any>().then((r) => r.results);
const track = (userId: string, event: string, properties: Record<string, unknown> = {}) => serverBatch([{ type: 'track', userId, messageId: uid('m'), event, properties }]);
const demoRequest = (userId: string) => track(userId, 'Form Submitted', { kind: 'demo_request' });

afterEach(async () => {
  vi.useRealTimers();
  for (const box of ['sdr', 'ae', 'manager', 'ops', 'ops-gone', 'resend']) await mode(box, 200);
});

/**
 * The lead's delivery to `team` once its first attempt is recorded. The alarm may already be running by itself
 * (miniflare fires due alarms), in which case running it here returns at once: so poll for the record.
 */
async function firstAttempt(key: string, team: string): Promise<any> {
  for (let i = 0; i < 40; i++) {
    await runDurableObjectAlarm(leadObject(key));
    const d = (await deliveriesOf(key)).find((r) => r.team === team);
    if (d?.attempts) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no attempt to deliver ${key}'s notification to ${team}`);
}

/** Moves the lead's clock on by `ms` and runs its alarm (the outbox's retry falls due). */
async function later(key: string, at: number) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  await runDurableObjectAlarm(leadObject(key));
}

describe('routing by fit', () => {
  /** Three minutes on pricing: hot (SPEC's trigger), with the traits given first. */
  const hotWith = async (user: string, traits: Record<string, unknown>) => {
    expect((await serverBatch([{ type: 'identify', userId: user, messageId: uid('m'), traits }])).status).toBe(200);
    expect((await track(user, 'Page Engaged', { path: '/pricing', seconds: 200 })).status).toBe(200);
    await drain(`u:${user}`);
  };
  const signed = async (box: string, user: string) => (await received(box, user)).filter((r) => r.headers['webhook-id']).map((r) => verify(r).data);

  it('a Hot lead with fit A reaches the account executives, one with fit D the SDRs', async () => {
    const good = uid('u');
    const poor = uid('u');
    await hotWith(good, { title: 'VP Marketing', employees: 450, industry: 'Software', country: 'US' });
    await hotWith(poor, { title: 'Student', employees: 3 });
    const [toAe] = await signed('ae', good);
    expect(toAe).toMatchObject({ lead: { id: good, level: 'hot', fit: { grade: 'A' } }, team: { id: 'ae' } });
    expect(await signed('sdr', good)).toEqual([]);
    const [toSdr] = await signed('sdr', poor);
    expect(toSdr).toMatchObject({ lead: { id: poor, level: 'hot', fit: { grade: 'D' } }, team: { id: 'sdr' } });
    expect(await signed('ae', poor)).toEqual([]);
    expect(await signed('manager', good)).toEqual([]);
  });
});

describe('a lead turning very_hot', () => {
  it('sends signed webhooks to the ae and manager destinations, and a Slack message, each once', async () => {
    const user = uid('u');
    expect((await demoRequest(user)).status).toBe(200);
    await drain(`u:${user}`);
    // The ae box takes the team's Slack message too (/slack/ae): the webhooks are the signed ones.
    const webhooks = async (box: string) => (await received(box, user)).filter((r) => r.headers['webhook-id']);
    const [ae] = await webhooks('ae');
    const [manager] = await webhooks('manager');
    expect(await webhooks('ae')).toHaveLength(1);
    expect(await webhooks('manager')).toHaveLength(1);
    expect((await received('ae', user)).filter((r) => !r.headers['webhook-id'])).toHaveLength(1);
    expect(await received('sdr', user)).toEqual([]);
    for (const r of [ae, manager]) {
      expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      const body = verify(r);
      expect(body).toMatchObject({
        type: 'lead.level_changed',
        data: {
          // No traits yet: the default model's fit grades it D with 0 points (shared/fit.ts), which the body carries.
          lead: { id: user, email: null, level: 'very_hot', levelName: 'Very Hot', fit: { grade: 'D', score: 0 }, profileUrl: `http://collector.test/app/leads/${user}`, scores: { engagement: 20, lead: 20 } },
          change: { kind: 'level', scoringType: 'engagement', from: 'cold', to: 'very_hot' },
          treatment: { salesInvolvement: 'Account executive; manager alerted', responseSla: { hours: 4 } },
        },
      });
      expect(body.data.reasons[0].text).toMatch(/demo request/i);
    }
    expect(verify(ae).data.team).toEqual({ id: 'ae', name: 'Account executives' });
    expect(verify(manager).data.team).toEqual({ id: 'manager', name: 'Sales manager' });
    // Tampering is caught: the signature covers the body.
    expect(() => new Webhook(DEV_WEBHOOK_SECRET).verify(ae.body.replace('very_hot', 'cold__x'), ae.headers)).toThrow();
    // Signed with the deployment's secret, not any other.
    expect(() => new Webhook(`whsec_${btoa('some-other-secret-of-enough-bytes')}`).verify(ae.body, ae.headers)).toThrow();
    const rows = await deliveriesOf(`u:${user}`);
    expect(rows.map((r) => [r.team, r.destination, r.destination_type, r.status, r.attempts])).toEqual(
      expect.arrayContaining([['ae', 0, 'webhook', 'delivered', 1], ['ae', 1, 'slack', 'delivered', 1], ['manager', 0, 'webhook', 'delivered', 1]]),
    );
    expect(rows).toHaveLength(3);
  });

  it('the Slack destination gets valid Block Kit: the lead, the change, the reasons, the treatment, a profile link', async () => {
    const user = uid('u');
    await demoRequest(user);
    await drain(`u:${user}`);
    // The Slack URL is the ae box too (/slack/ae): the message without webhook headers.
    const all = (await received('ae', user)).filter((r) => !r.headers['webhook-id']);
    expect(all).toHaveLength(1);
    const msg = JSON.parse(all[0].body) as { text: string; blocks: any[] };
    expect(msg.text).toBe(`${user} is now Very Hot (was Cold)`);
    const kinds = new Set(['header', 'section', 'context', 'actions', 'divider']);
    for (const b of msg.blocks) {
      expect(kinds.has(b.type), b.type).toBe(true);
      if (b.type === 'header') expect(b.text.type === 'plain_text' && b.text.text.length <= 150).toBe(true);
      if (b.type === 'section') {
        expect(!!b.text || !!b.fields).toBe(true);
        if (b.text) expect(b.text.type === 'mrkdwn' && b.text.text.length <= 3000).toBe(true);
        for (const f of b.fields ?? []) expect(f.type === 'mrkdwn' && f.text.length <= 2000).toBe(true);
        expect((b.fields ?? []).length).toBeLessThanOrEqual(10);
      }
      if (b.type === 'context') for (const e of b.elements) expect(e.type).toBe('mrkdwn');
      if (b.type === 'actions') for (const e of b.elements) expect(e).toMatchObject({ type: 'button', text: { type: 'plain_text' }, url: expect.stringMatching(/^https?:\/\//) });
    }
    const text = JSON.stringify(msg.blocks);
    expect(text).toContain(`<http://collector.test/app/leads/${user}|${user}>`);
    expect(text).toContain('Cold → Very Hot');
    expect(text).toMatch(/• .*[Dd]emo request/);
    expect(text).toContain('Treatment: Account executive; manager alerted');
    expect(msg.blocks.find((b) => b.type === 'actions').elements[0].url).toBe(`http://collector.test/app/leads/${user}`);
  });

  it('an anonymous visitor is nobody’s to call: no notification until the lead is known', async () => {
    const anon = uid('a');
    await serverBatch([{ type: 'track', anonymousId: anon, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
    await drain(`a:${anon}`);
    expect(await received('ae', anon)).toEqual([]);
    expect(await deliveriesOf(`a:${anon}`)).toEqual([]);
  });
});

describe('delivery through trouble', () => {
  it('a receiver down (503) for an hour, then up: each notification arrives once, in order, with a valid signature', async () => {
    await mode('sdr', 503);
    const user = uid('u');
    const key = `u:${user}`;
    const t0 = Date.now();
    await track(user, 'Form Submitted', { kind: 'case_study_download' }); // → engaged: sdr
    await runDurableObjectAlarm(leadObject(key));
    await track(user, 'ROI Calculator Completed'); // → hot without a fit grade: sdr again, queued behind
    await runDurableObjectAlarm(leadObject(key));
    for (let m = 10; m <= 60; m += 10) await later(key, t0 + m * 60_000);
    const down = await received('sdr', user);
    expect(down.length).toBeGreaterThanOrEqual(3);
    // Still tried near the end of the hour (each signed at the time of its attempt).
    expect(Math.max(...down.map((r) => Number(r.headers['webhook-timestamp']) * 1000))).toBeGreaterThanOrEqual(t0 + 50 * 60_000);
    // While the first is refused, the second waits behind it: every try was the first one.
    expect(new Set(down.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(down.every((r) => r.status === 503)).toBe(true);
    const pending = await deliveriesOf(key);
    expect(pending.find((r) => r.destination_type === 'webhook')).toMatchObject({ status: 'pending', last_status: 503, last_error: 'answered HTTP 503' });
    // The email destination of the same team is another destination: not held up by the webhook's outage.
    expect(pending.filter((r) => r.destination_type === 'email').map((r) => r.status)).toEqual(['delivered', 'delivered']);

    await mode('sdr', 200);
    for (let m = 70; m <= 140 && (await outbox(key)).some((r) => r.dest === 'notify:sdr:0'); m += 10) await later(key, t0 + m * 60_000);
    const ok = (await received('sdr', user)).filter((r) => r.status === 200);
    expect(ok.map((r) => verify(r).data.change.to)).toEqual(['engaged', 'hot']);
    expect(ok[0].headers['webhook-id']).toBe(down[0].headers['webhook-id']);
    expect(new Set(ok.map((r) => r.headers['webhook-id'])).size).toBe(2);
    expect((await deliveriesOf(key)).filter((r) => r.destination_type === 'webhook').map((r) => r.status)).toEqual(['delivered', 'delivered']);
  });

  it('a slow but successful receiver: the retry after the time-out carries the same id, so nothing is new twice', async () => {
    await mode('manager', 200, 1_500); // stores it, answers after the 1 s time-out (NOTIFY_TIMEOUT_MS)
    const user = uid('u');
    const key = `u:${user}`;
    await demoRequest(user);
    await runDurableObjectAlarm(leadObject(key));
    // The alarm may have fired by itself already and still be waiting on the receiver: wait for its attempt.
    let first: any;
    for (let i = 0; i < 100 && !first?.attempts; i++) {
      [first] = await outbox(key).then((rows) => rows.filter((r) => r.dest === 'notify:manager:0'));
      if (!first?.attempts) await new Promise((r) => setTimeout(r, 50));
    }
    expect(first).toMatchObject({ attempts: 1, last_error: 'no answer within 1000 ms' });
    await mode('manager', 200);
    await later(key, first.next_at + 1);
    const got = await received('manager', user);
    expect(got).toHaveLength(2);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect((await deliveriesOf(key)).find((r) => r.team === 'manager')).toMatchObject({ status: 'delivered', attempts: 2, id: got[0].headers['webhook-id'] });
    expect((await outbox(key)).filter((r) => r.dest.startsWith('notify:'))).toEqual([]);
  });

  it('retries go on for at least 24 hours before a notification is given up as failed', async () => {
    await mode('manager', 503);
    const user = uid('u');
    const key = `u:${user}`;
    const t0 = Date.now();
    await demoRequest(user);
    await firstAttempt(key, 'manager');
    const status = async () => (await deliveriesOf(key)).find((r) => r.team === 'manager').status;
    for (let h = 1; h < 24; h++) {
      await later(key, t0 + h * 3_600_000);
      expect(await status(), `after ${h} h`).toBe('pending');
    }
    await later(key, t0 + RETRY_SPAN_MS + 1);
    await later(key, t0 + RETRY_SPAN_MS + 3_600_001);
    const row = (await deliveriesOf(key)).find((r) => r.team === 'manager');
    expect(row.status).toBe('failed');
    expect(row.last_error).toMatch(/^answered HTTP 503; given up after \d+ attempts over 2[45] h$/);
    expect(row.attempts).toBeGreaterThanOrEqual(24);
    // The level change's notification is gone; the SLA breach queued behind it at 4 h has its own day of retries.
    expect((await outbox(key)).filter((r) => r.dest === 'notify:manager:0').map((r) => JSON.parse(r.payload).body.type)).toEqual(['lead.sla_breached']);
  });

  it('a 410 disables the destination for every lead, until a test send it answers', async () => {
    await mode('manager', 410);
    try {
      const a = uid('u');
      await demoRequest(a);
      await drain(`u:${a}`);
      expect((await deliveriesOf(`u:${a}`)).find((r) => r.team === 'manager')).toMatchObject({ status: 'failed', last_status: 410, last_error: 'answered HTTP 410: the destination is disabled' });
      // Another lead's object: not even tried.
      const b = uid('u');
      await demoRequest(b);
      await drain(`u:${b}`);
      expect(await received('manager', b)).toEqual([]);
      expect((await deliveriesOf(`u:${b}`)).find((r) => r.team === 'manager')).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/^not sent: the destination is disabled \(answered 410 Gone/) });
      expect((await deliveriesOf(`u:${b}`)).find((r) => r.team === 'ae')).toMatchObject({ status: 'delivered' });
      await mode('manager', 200);
      const test = await call('/v1/teams/manager/test', { method: 'POST', headers: { Authorization: SECRET } });
      expect(await test.json()).toMatchObject({ ok: true, results: [{ destination: 0, ok: true, status: 200, enabledAgain: true }] });
      const c = uid('u');
      await demoRequest(c);
      await drain(`u:${c}`);
      expect(await received('manager', c)).toHaveLength(1);
    } finally {
      await env.INDEX.exec("DELETE FROM disabled_destinations WHERE team = 'manager'");
    }
  });
});

describe('the deliveries API', () => {
  it('lists by status, team and lead, newest first, paged by cursor; bad parameters are named', async () => {
    const user = uid('u');
    await demoRequest(user);
    await drain(`u:${user}`);
    const list = (q: string) => call(`/v1/deliveries?${q}`, { headers: { Authorization: SECRET } });
    const res = await list(`status=delivered&lead=${user}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.deliveries.map((d: any) => `${d.team}:${d.destination.index}`).sort()).toEqual(['ae:0', 'ae:1', 'manager:0']);
    expect(body.deliveries[0]).toMatchObject({ lead: user, type: 'lead.level_changed', status: 'delivered', attempts: 1, payload: { type: 'lead.level_changed' } });
    expect(body.nextCursor).toBeNull();
    const p1 = (await (await list(`lead=${user}&limit=2`)).json()) as any;
    const p2 = (await (await list(`lead=${user}&limit=2&cursor=${p1.nextCursor}`)).json()) as any;
    expect(p1.deliveries).toHaveLength(2);
    expect(p2.deliveries).toHaveLength(1);
    expect(p2.nextCursor).toBeNull();
    expect(new Set([...p1.deliveries, ...p2.deliveries].map((d: any) => d.id)).size).toBe(3);
    const byTeam = (await (await list(`team=manager&lead=${user}`)).json()) as any;
    expect(byTeam.deliveries.map((d: any) => d.team)).toEqual(['manager']);
    expect(((await (await list(`status=failed&lead=${user}`)).json()) as any).deliveries).toEqual([]);

    const bad = await list('status=lost&team=closers&limit=0&cursor=xyz&colour=red');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).problems.map((p: any) => p.path)).toEqual(['colour', 'status', 'team', 'limit', 'cursor']);
    expect((await call('/v1/deliveries')).status).toBe(401);
    expect((await call('/v1/deliveries', { headers: { Authorization: 'Basic ' + btoa('pk_demo:'), Origin: 'http://localhost:5173' } })).status).toBe(403);
  });

  it('a retry sends the delivery again with the same id; an unknown one is 404', async () => {
    const user = uid('u');
    await demoRequest(user);
    await drain(`u:${user}`);
    const d = (await deliveriesOf(`u:${user}`)).find((r) => r.team === 'manager');
    const res = await call(`/v1/deliveries/${d.id}/retry`, { method: 'POST', headers: { Authorization: SECRET } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).delivery).toMatchObject({ id: d.id, status: 'delivered' });
    const got = await received('manager', user);
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([d.id, d.id]);
    expect(verify(got[1]).data.change.to).toBe('very_hot');
    const missing = await call('/v1/deliveries/msg_nope/retry', { method: 'POST', headers: { Authorization: SECRET } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'delivery_not_found' });
  });

  it('a delivery still queued is not retried beside itself: 409, and it is sent once when the receiver is back', async () => {
    await mode('manager', 503);
    const user = uid('u');
    await demoRequest(user);
    const d = await firstAttempt(`u:${user}`, 'manager');
    expect(d.status).toBe('pending');
    const res = await call(`/v1/deliveries/${d.id}/retry`, { method: 'POST', headers: { Authorization: SECRET } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'delivery_pending' });
    await mode('manager', 200);
    await later(`u:${user}`, Date.now() + 3_600_000);
    const got = (await received('manager', user)).filter((r) => r.status === 200);
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([d.id]);
  });

  it('a team test sends a signed `test` to each destination and reports each result', async () => {
    await mode('ops-gone', 410);
    const res = await call('/v1/teams/ops/test', { method: 'POST', headers: { Authorization: SECRET } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ team: { id: 'ops' }, ok: false, results: [{ destination: 0, type: 'webhook', ok: true, status: 200 }, { destination: 1, ok: false, status: 410, error: 'answered HTTP 410' }] });
    const log = (await (await fetch(`${receiver}/_log/ops`)).json()) as Received[];
    const mine = log.find((r) => r.headers['webhook-id'] === body.results[0].id)!;
    expect(verify(mine)).toMatchObject({ type: 'test', data: { lead: null, team: { id: 'ops', name: 'Ops (tests only)' } } });
    const missing = await call('/v1/teams/closers/test', { method: 'POST', headers: { Authorization: SECRET } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'team_not_found', message: expect.stringContaining('sdr, ae, manager, ops') });
  });

  it('email destinations go through the provider API with the message id as its Idempotency-Key', async () => {
    const user = uid('u');
    await track(user, 'Form Submitted', { kind: 'case_study_download' });
    await drain(`u:${user}`);
    const [mail] = await received('resend', user);
    expect(mail.headers.authorization).toBe('Bearer test-only-email-key');
    const d = (await deliveriesOf(`u:${user}`)).find((r) => r.destination_type === 'email');
    expect(mail.headers['idempotency-key']).toBe(d.id);
    expect(JSON.parse(mail.body)).toMatchObject({ to: ['sdr-team@example.com'], subject: `${user} is now Engaged (was Cold)`, text: expect.stringContaining('Why:') });
  });
});

describe('erasure', () => {
  it('removes the lead’s queued notifications and its delivery payloads', async () => {
    await mode('sdr', 503);
    const user = uid('u');
    const key = `u:${user}`;
    await track(user, 'Form Submitted', { kind: 'case_study_download' });
    await firstAttempt(key, 'sdr');
    expect((await outbox(key)).some((r) => r.dest === 'notify:sdr:0' && r.payload.includes(user))).toBe(true);
    const held = () => env.INDEX.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE payload LIKE ? OR lead_key = ? OR lead_id = ?').bind(`%${user}%`, key, user).first<{ n: number }>();
    // The webhook's and the email's records (the email may be a moment behind: another destination).
    for (let i = 0; i < 40 && (await held())!.n < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await held())!.n).toBe(2);
    const res = await call(`/v1/leads/${user}`, { method: 'DELETE', headers: { Authorization: SECRET } });
    expect(res.status).toBe(200);
    expect(await outbox(key)).toEqual([]);
    expect((await held())!.n).toBe(0);
    // Nothing left to retry, and the receiver, back up, hears nothing more of it.
    await mode('sdr', 200);
    await runDurableObjectAlarm(leadObject(key));
    expect((await received('sdr', user)).filter((r) => r.status === 200)).toEqual([]);
  });
});

describe('WEBHOOK_SECRET', () => {
  const SECRET_KEY = 'sk_live_' + '8f3a'.repeat(8);
  const production = { ENVIRONMENT: 'production', SECRET_KEYS: SECRET_KEY, SITE_KEYS: JSON.stringify({ ['pk_live_' + '2c1e'.repeat(8)]: { origins: ['https://www.example.com'] } }) };
  const send = (vars: Record<string, string | undefined>, path: string, init: RequestInit = {}) =>
    app.fetch(new Request(`http://collector.test${path}`, { ...init, headers: { Authorization: `Bearer ${SECRET_KEY}` } }), { ...env, ...production, ...vars } as never, createExecutionContext());

  it('production without one, or with the development key or a short one: the notification routes answer 503 not_configured', async () => {
    for (const WEBHOOK_SECRET of [undefined, DEV_WEBHOOK_SECRET, 'whsec_c2hvcnQ=', 'not-a-whsec']) {
      for (const [path, method] of [['/v1/deliveries', 'GET'], ['/v1/teams/ops/test', 'POST']]) {
        const res = await send({ WEBHOOK_SECRET }, path, { method });
        const body = (await res.json()) as any;
        expect(res.status, `${WEBHOOK_SECRET} ${path}`).toBe(503);
        expect(body).toMatchObject({ error: 'not_configured', problems: [{ path: 'WEBHOOK_SECRET' }] });
      }
    }
    // A real key serves; the rest of the API never depended on it.
    expect((await send({ WEBHOOK_SECRET: `whsec_${btoa('0123456789abcdef0123456789abcdef')}` }, '/v1/deliveries?limit=1')).status).toBe(200);
    expect((await send({}, '/v1/leads/nobody')).status).toBe(404);
  });
});

/**
 * Response SLAs across a merge (SPEC, "SLA"; worker/lead/sla.ts `adopt`): when a lead's second id merges it into
 * another lead, the SLAs its teams owe go on at the receiving lead — the same deadline, breached and escalated
 * there at the due instant — and are reconciled with the receiver's own: at the same level the earlier due
 * instant wins and a met SLA stays met. Time is moved with a fake Date and alarms are driven.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SECRET, call, drain, leadObject, readLead, serverBatch, uid } from './helpers.js';
import { received } from './receiver.js';

const HOUR = 3_600_000;
const lead = async (id: string) => (await (await readLead(id)).json()) as any;
const slasOf = async (id: string) => Object.fromEntries(((await lead(id)).slas as any[]).map((s) => [s.team, s]));
const breaches = async (box: string, id: string) => (await received(box, id)).filter((r) => r.headers['webhook-id'] && JSON.parse(r.body).type === 'lead.sla_breached');

afterEach(() => vi.useRealTimers());

/** An email lead (`e:…`, an anonymous visitor who gave the email) that asked for a demo: Very Hot, its ae and manager SLAs open. */
async function veryHotEmailLead(email: string) {
  const anon = uid('a');
  await serverBatch([{ type: 'identify', anonymousId: anon, messageId: uid('m'), traits: { email } }]);
  await serverBatch([{ type: 'track', anonymousId: anon, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
  await drain(`e:${email}`);
  const slas = await slasOf(email);
  expect(slas.ae).toMatchObject({ level: 'very_hot', state: 'open' });
  return slas;
}

/** The CRM identifies the email's person by userId: `u:user` takes in `e:email`. */
async function identify(user: string, email: string) {
  expect((await serverBatch([{ type: 'identify', userId: user, messageId: uid('m'), traits: { email } }])).status).toBe(200);
  await drain(`u:${user}`);
}

describe('an SLA of a merged lead', () => {
  it('goes on at the receiving lead with its deadline, and breaches there at the due instant', async () => {
    const email = `${uid('ada')}@x.com`;
    const user = uid('u');
    const giver = await veryHotEmailLead(email);
    await identify(user, email);
    // The receiver tells nobody again of the Very Hot the giver reached, so no SLA starts there: it is the giver's that goes on.
    const slas = await slasOf(user);
    expect(slas.ae).toMatchObject({ level: 'very_hot', state: 'open', startedAt: giver.ae.startedAt, dueAt: giver.ae.dueAt });
    expect(slas.manager).toMatchObject({ state: 'open', dueAt: giver.manager.dueAt });
    expect((await lead(user)).sla).toMatchObject({ state: 'open', dueAt: giver.ae.dueAt });

    // Untouched for 4 hours: the receiver's alarm breaches it, and the ae team's breach escalates to the manager.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse(giver.ae.dueAt) + 1_000);
    await runDurableObjectAlarm(leadObject(`u:${user}`));
    await drain(`u:${user}`);
    expect((await slasOf(user)).ae).toMatchObject({ state: 'breached', breachedAt: giver.ae.dueAt });
    vi.useRealTimers();
    const escalated = await breaches('manager', user);
    expect(escalated).toHaveLength(1);
    expect(JSON.parse(escalated[0].body).data.sla).toMatchObject({ team: { id: 'ae' }, dueAt: giver.ae.dueAt });
  });

  it('at the same level as the receiver’s own, the earlier due instant wins', async () => {
    const email = `${uid('ada')}@x.com`;
    const user = uid('u');
    const giver = await veryHotEmailLead(email);
    await new Promise((r) => setTimeout(r, 20));
    expect((await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }])).status).toBe(200);
    await drain(`u:${user}`);
    const own = await slasOf(user);
    expect(Date.parse(own.ae.dueAt)).toBeGreaterThan(Date.parse(giver.ae.dueAt));
    await identify(user, email);
    const slas = await slasOf(user);
    expect(slas.ae).toMatchObject({ state: 'open', dueAt: giver.ae.dueAt });
    expect(slas.manager).toMatchObject({ state: 'open', dueAt: giver.manager.dueAt });
  });

  it('a met SLA stays met, on either side, and does not breach', async () => {
    const email = `${uid('ada')}@x.com`;
    const user = uid('u');
    const giver = await veryHotEmailLead(email);
    const met = await call(`/v1/leads/${encodeURIComponent(email)}/contacted`, { method: 'POST', headers: { Authorization: SECRET }, json: { team: 'ae', by: 'Priya Raman' } });
    expect(met.status).toBe(200);
    // The receiver is Very Hot on its own, later: its ae SLA is open.
    expect((await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }])).status).toBe(200);
    await drain(`u:${user}`);
    expect((await slasOf(user)).ae.state).toBe('open');
    await identify(user, email);
    const slas = await slasOf(user);
    expect(slas.ae).toMatchObject({ state: 'met', metBy: 'Priya Raman', dueAt: giver.ae.dueAt });
    expect(slas.manager.state).toBe('open');

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 5 * HOUR);
    await runDurableObjectAlarm(leadObject(`u:${user}`));
    await drain(`u:${user}`);
    const after = await slasOf(user);
    expect(after.ae.state).toBe('met');
    expect(after.manager.state).toBe('breached');
    vi.useRealTimers();
    // The ae team was called: nothing of it escalates (the manager team escalates to nobody).
    expect(await breaches('manager', user)).toEqual([]);
  });
});

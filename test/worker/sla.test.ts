/**
 * Response SLAs end to end in workerd (SPEC, "SLA"): a move up routed to a team starts that team's SLA, a
 * contact (the API or a CRM's `Lead Contacted` event) meets it, and at the due instant the alarm escalates a
 * breach to the team's `escalateTo` through the outbox — a signed `lead.sla_breached` on the loopback receiver.
 * Time is moved with a fake Date and alarms are driven, never waited for.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SECRET, browserBatch, call, drain, env, leadObject, readLead, restart, serverBatch, uid } from './helpers.js';
import { received, verify } from './receiver.js';

const HOUR = 3_600_000;
const track = (userId: string, event: string, properties: Record<string, unknown> = {}) => serverBatch([{ type: 'track', userId, messageId: uid('m'), event, properties }]);
const demoRequest = (userId: string) => track(userId, 'Form Submitted', { kind: 'demo_request' });
const lead = async (id: string) => (await (await readLead(id)).json()) as any;
const contacted = (id: string, body?: unknown, auth = SECRET) =>
  call(`/v1/leads/${encodeURIComponent(id)}/contacted`, { method: 'POST', headers: { Authorization: auth }, ...(body === undefined ? {} : typeof body === 'string' ? { body } : { json: body }) });
const breaches = async (box: string, id: string) => (await received(box, id)).filter((r) => r.headers['webhook-id'] && JSON.parse(r.body).type === 'lead.sla_breached');
const timers = (key: string) =>
  runInDurableObject(leadObject(key), (_, state) =>
    state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'timers'").toArray().length ? (state.storage.sql.exec("SELECT key, due_at FROM timers WHERE kind = 'sla' ORDER BY key").toArray() as any[]) : [],
  );
const list = async (query: string) => (await (await call(`/v1/leads?${query}`, { headers: { Authorization: SECRET } })).json()) as any;

/** The lead's clock moves to `at`; its alarm runs, and what it queued is delivered. */
async function at(key: string, t: number) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(t);
  await runDurableObjectAlarm(leadObject(key));
  await drain(key);
}

afterEach(() => vi.useRealTimers());

/** A known lead turned Very Hot now: its ae and manager SLAs, due in 4 h. */
async function veryHot(prefix = 'sla') {
  const user = uid(prefix);
  expect((await demoRequest(user)).status).toBe(200);
  await drain(`u:${user}`);
  const read = await lead(user);
  return { user, key: `u:${user}`, read, started: Date.parse(read.slas[0].startedAt), due: Date.parse(read.slas[0].dueAt) };
}

describe('an untouched Very Hot lead', () => {
  it('escalates at exactly 4 h: the manager gets one signed lead.sla_breached about the ae team’s SLA', async () => {
    const { user, key, read, started, due } = await veryHot();
    expect(read.slas.map((s: any) => [s.team, s.level, s.state])).toEqual([['ae', 'very_hot', 'open'], ['manager', 'very_hot', 'open']]);
    expect(due - started).toBe(4 * HOUR);
    expect(read.sla).toMatchObject({ team: 'ae', state: 'open', dueAt: new Date(due).toISOString() });
    // The due times are timer rows; the alarm is no later than the earliest.
    expect(await timers(key)).toEqual([{ key: 'ae', due_at: due }, { key: 'manager', due_at: due }]);
    // Evicted while it waits: the SLAs are rows, not memory.
    await restart(key);

    await at(key, due - 1);
    expect(await breaches('manager', user)).toEqual([]);
    expect((await lead(user)).sla.state).toBe('open');

    await at(key, due);
    const [one, ...more] = await breaches('manager', user);
    expect(more).toEqual([]);
    const body = verify(one);
    expect(body).toMatchObject({
      type: 'lead.sla_breached',
      data: {
        lead: { id: user, level: 'very_hot', levelName: 'Very Hot' },
        change: { kind: 'sla', to: 'very_hot', at: new Date(due).toISOString() },
        team: { id: 'manager', name: 'Sales manager' },
        sla: { team: { id: 'ae', name: 'Account executives' }, level: 'very_hot', startedAt: new Date(started).toISOString(), dueAt: new Date(due).toISOString(), state: 'breached', breachedAt: new Date(due).toISOString() },
      },
    });
    // The ae team is not told of its own breach; the manager's own SLA (no escalateTo) breaches silently.
    expect(await breaches('ae', user)).toEqual([]);
    const after = await lead(user);
    expect(after.slas.map((s: any) => [s.team, s.state, s.breachedAt])).toEqual([['ae', 'breached', new Date(due).toISOString()], ['manager', 'breached', new Date(due).toISOString()]]);
    expect(await timers(key)).toEqual([]);

    // The alarm again (it may run twice): nothing new.
    await at(key, due + HOUR);
    expect(await breaches('manager', user)).toHaveLength(1);
    // The export carries the SLA too.
    const exported = (await (await call(`/v1/leads/${user}/export`, { headers: { Authorization: SECRET } })).json()) as any;
    expect(exported.lead.slas.map((s: any) => s.state)).toEqual(['breached', 'breached']);
  });
});

describe('a contacted lead does not breach', () => {
  it('POST /v1/leads/{id}/contacted meets the open SLAs (of one team when named), with who and when', async () => {
    const { user, key, started, due } = await veryHot();
    const when = new Date(started + HOUR).toISOString();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(started + 2 * HOUR);
    const res = await contacted(user, { team: 'ae', at: when, by: 'Priya Raman', note: 'Called, booked a demo' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.met).toEqual([expect.objectContaining({ team: 'ae', state: 'met', metAt: when, metBy: 'Priya Raman', note: 'Called, booked a demo' })]);
    expect(body.slas.map((s: any) => [s.team, s.state])).toEqual([['ae', 'met'], ['manager', 'open']]);
    expect(await timers(key)).toEqual([{ key: 'manager', due_at: due }]);
    await at(key, due);
    expect(await breaches('manager', user)).toEqual([]);
    const read = await lead(user);
    expect(read.slas.find((s: any) => s.team === 'ae')).toMatchObject({ state: 'met', metAt: when });
    // Without a team (and an empty body) a contact meets every open SLA; none is left to meet here.
    const second = await veryHot();
    const all = await contacted(second.user);
    expect(((await all.json()) as any).met.map((s: any) => s.team)).toEqual(['ae', 'manager']);
    await at(second.key, second.due + 1);
    expect(await breaches('manager', second.user)).toEqual([]);
  });

  it('a CRM’s Lead Contacted event (secret key) meets them and scores nothing; a browser cannot send it', async () => {
    const { user, key, read, due } = await veryHot();
    expect((await track(user, 'Lead Contacted', { by: 'crm:hubspot', team: 'ae' })).status).toBe(200);
    await drain(key);
    const after = await lead(user);
    expect(after.slas.map((s: any) => [s.team, s.state, s.metBy ?? null])).toEqual([['ae', 'met', 'crm:hubspot'], ['manager', 'open', null]]);
    expect(after.engagementScore).toBe(read.engagementScore);
    await at(key, due);
    expect(await breaches('manager', user)).toEqual([]);
    const res = await browserBatch([{ type: 'track', anonymousId: uid('a'), messageId: uid('m'), event: 'Lead Contacted', properties: {} }]);
    expect(res.status).toBe(403);
  });

  it('bad contacts are 400 naming the problem; an unknown lead is 404; a site key may not', async () => {
    const { user } = await veryHot();
    const problems = async (body: unknown) => {
      const res = await contacted(user, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const b = (await res.json()) as any;
      return (b.problems ?? []).map((p: any) => p.path).concat(b.problems ? [] : [b.error]);
    };
    expect(await problems({ team: 'closers', at: 'yesterday', by: 7, note: '', when: 'now' })).toEqual(['when', 'team', 'at', 'by', 'note']);
    expect(await problems({ at: new Date(Date.now() + 2 * HOUR).toISOString() })).toEqual(['at']);
    expect(await problems([1])).toEqual(['(body)']);
    expect(await problems('{not json')).toEqual(['invalid_json']);
    expect((await contacted(uid('nobody'), {})).status).toBe(404);
    // Too large, or in an encoding we do not read: 4xx, never a 5xx.
    expect((await contacted(user, { note: 'x'.repeat(9_000) })).status).toBe(413);
    const br = await call(`/v1/leads/${user}/contacted`, { method: 'POST', headers: { Authorization: SECRET, 'Content-Encoding': 'br' }, body: 'xx' });
    expect(br.status).toBe(415);
    const site = await call(`/v1/leads/${user}/contacted`, { method: 'POST', headers: { Authorization: 'Basic ' + btoa('pk_demo:') } });
    expect([401, 403]).toContain(site.status);
    // Nothing was met by the refused calls.
    expect((await lead(user)).slas.every((s: any) => s.state === 'open')).toBe(true);
  });
});

describe('a lead that falls out of the level before it is due', () => {
  it('closes its SLAs (closed, with the time it fell) instead of breaching them', async () => {
    const { user, key, due } = await veryHot();
    // An unsubscribe makes the lead cold at once.
    expect((await track(user, 'Unsubscribed')).status).toBe(200);
    await drain(key);
    const read = await lead(user);
    expect(read.level).toBe('cold');
    expect(read.slas.map((s: any) => [s.team, s.state])).toEqual([['ae', 'closed'], ['manager', 'closed']]);
    expect(Date.parse(read.slas[0].closedAt)).toBeLessThan(due);
    expect(await timers(key)).toEqual([]);
    await at(key, due);
    expect(await breaches('manager', user)).toEqual([]);
    expect((await list(`q=${user}`)).leads[0]).toMatchObject({ teams: [], sla: { state: 'closed' } });
  });
});

describe('business time', () => {
  it('an Engaged lead entering Friday 16:00 in the sdr team’s zone (New York) is due Wednesday 16:00', async () => {
    // Friday 8 January 2027, 16:00 EST (UTC-5).
    const friday = Date.parse('2027-01-08T21:00:00Z');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(friday);
    const user = uid('eng');
    expect((await track(user, 'Webinar Attended')).status).toBe(200);
    await drain(`u:${user}`);
    const read = await lead(user);
    expect(read.level).toBe('engaged');
    expect(read.slas).toEqual([expect.objectContaining({ team: 'sdr', level: 'engaged', state: 'open', startedAt: '2027-01-08T21:00:00.000Z', dueAt: '2027-01-13T21:00:00.000Z' })]);
    await at(`u:${user}`, Date.parse('2027-01-13T20:59:59Z'));
    expect(await breaches('manager', user)).toEqual([]);
    await at(`u:${user}`, Date.parse('2027-01-13T21:00:00Z'));
    expect((await breaches('manager', user)).map((r) => verify(r).data.sla.team.id)).toEqual(['sdr']);
  });
});

describe('the work queue', () => {
  it('team= lists the leads routed to a team now, each with its teams and SLA; order=sla puts the earliest due first', async () => {
    const prefix = uid('q');
    const first = await veryHot(`${prefix}-a`);
    const second = await veryHot(`${prefix}-b`);
    const engaged = `${prefix}-c-${uid('e')}`;
    await track(engaged, 'Webinar Attended');
    await drain(`u:${engaged}`);
    const ae = await list(`team=ae&q=${prefix}`);
    expect(ae.leads.map((l: any) => l.id).sort()).toEqual([first.user, second.user].sort());
    expect(ae.leads[0]).toMatchObject({ team: 'ae', teams: ['ae', 'manager'], sla: { team: 'ae', state: 'open', dueAt: expect.any(String) } });
    expect((await list(`team=sdr&q=${prefix}`)).leads.map((l: any) => [l.id, l.teams, l.sla.team])).toEqual([[engaged, ['sdr'], 'sdr']]);
    expect((await list(`team=sdr,manager&q=${prefix}`)).leads).toHaveLength(3);
    // The second lead contacted: its SLA is met in the index, and it falls behind the open ones in SLA order.
    await contacted(second.user);
    await drain(second.key);
    const bySla = await list(`order=sla&q=${prefix}`);
    expect(bySla.leads.map((l: any) => l.id)).toEqual([first.user, second.user, engaged].filter((id) => id !== second.user).concat(second.user));
    expect(bySla.leads.find((l: any) => l.id === second.user).sla.state).toBe('met');
    // Paging in SLA order: no gaps, no repeats.
    const page1 = await list(`order=sla&q=${prefix}&limit=2`);
    const page2 = await list(`order=sla&q=${prefix}&limit=2&cursor=${page1.nextCursor}`);
    expect([...page1.leads, ...page2.leads].map((l: any) => l.id)).toEqual(bySla.leads.map((l: any) => l.id));
    const bad = await call('/v1/leads?team=closers', { headers: { Authorization: SECRET } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).problems[0].path).toBe('team');
  });
});

describe('erasure', () => {
  it('takes the SLA timers, the alarm and the lead’s team rows with it', async () => {
    const { user, key } = await veryHot();
    expect(await timers(key)).toHaveLength(2);
    expect((await env.INDEX.prepare('SELECT team FROM lead_teams WHERE lead_key = ?').bind(key).all()).results).toHaveLength(2);
    expect((await call(`/v1/leads/${user}`, { method: 'DELETE', headers: { Authorization: SECRET } })).status).toBe(200);
    expect(await timers(key)).toEqual([]);
    expect(await runInDurableObject(leadObject(key), (_, state) => state.storage.getAlarm())).toBeNull();
    expect((await env.INDEX.prepare('SELECT team FROM lead_teams WHERE lead_key = ?').bind(key).all()).results).toEqual([]);
    expect((await contacted(user)).status).toBe(404);
  });
});

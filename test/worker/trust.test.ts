/**
 * Trust boundaries, written as the attacks: a stranger holding the public site key (`pk_demo`) tries to read,
 * inflate or take over someone else's lead. Each is refused or goes nowhere, and a control request succeeds.
 */
import { describe, expect, it } from 'vitest';
import { browserBatch, readLead, serverBatch, uid } from './helpers.js';

const lead = async (id: string) => (await readLead(id)).json<any>();

describe('one visitor per site-key request', () => {
  it('a batch naming the victim alongside the attacker is refused, and the victim is untouched', async () => {
    const victim = uid('victim');
    await browserBatch([{ type: 'page', anonymousId: victim, messageId: uid('m'), properties: { path: '/pricing' } }]);
    const before = await lead(victim);
    const attacker = uid('attacker');
    const res = await browserBatch([
      { type: 'page', anonymousId: attacker, messageId: uid('m'), properties: { path: '/' } },
      { type: 'track', anonymousId: victim, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } },
    ]);
    expect(res.status).toBe(400);
    const body = await res.json<any>();
    expect(body.problems[0].path).toBe('batch[1].anonymousId');
    expect(JSON.stringify(body)).not.toContain('very_hot');
    expect(await lead(victim)).toEqual(before);
    expect((await readLead(attacker)).status).toBe(404);
    // Control: the attacker's own visitor is served.
    expect((await browserBatch([{ type: 'page', anonymousId: attacker, messageId: uid('m'), properties: { path: '/' } }])).status).toBe(200);
  });

  it('a message without an anonymous id (a userId alone) is refused: the answer could only be about someone else', async () => {
    const victim = uid('u');
    await serverBatch([{ type: 'track', userId: victim, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'contact_sales' } }]);
    const res = await browserBatch([{ type: 'page', userId: victim, messageId: uid('m'), properties: { path: '/' } }]);
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('very_hot');
    expect((await lead(victim)).events).toBe(1);
  });

  it('1,500 anonymous ids in one request are refused before any lead object is touched', async () => {
    const ids = Array.from({ length: 1_500 }, () => uid('rot'));
    const res = await browserBatch(ids.map((anonymousId) => ({ type: 'page', anonymousId, messageId: uid('m'), properties: { path: '/' } })));
    expect(res.status).toBe(400);
    expect((await readLead(ids[0])).status).toBe(404);
    expect((await readLead(ids[1_499])).status).toBe(404);
  });

  it('a site key cannot pull an email’s lead into a userId: identifying by email, then by userId, does not take the lead over', async () => {
    const anon = uid('a');
    const ceo = `${uid('ceo')}@bigcorp.example`;
    await serverBatch([{ type: 'track', userId: ceo, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
    await browserBatch([{ type: 'identify', anonymousId: anon, messageId: uid('m'), traits: { email: ceo } }]);
    const attacker = uid('attacker');
    await browserBatch([{ type: 'identify', anonymousId: anon, userId: attacker, messageId: uid('m') }]);
    expect(await lead(ceo)).toMatchObject({ id: ceo, email: ceo });
    const mine = await readLead(attacker);
    if (mine.status === 200) expect(await mine.json<any>()).toMatchObject({ id: attacker, email: null, leadScore: 0 });
  });
});

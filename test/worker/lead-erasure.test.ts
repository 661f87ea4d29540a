/**
 * Privacy operations: a lead erased everywhere — every object of its ids, its index row, its queued news — with
 * a receipt; events arriving for its ids afterwards dropped during the quarantine; and an export of everything
 * kept about a lead.
 */
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { SECRET, browserBatch, call, drain, env, leadObject, readLead, serverBatch, uid } from './helpers.js';

const tablesOf = (key: string) =>
  runInDurableObject(leadObject(key), (_, state) =>
    state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%' ORDER BY name").toArray().map((r) => r.name),
  );

describe('erase', () => {
  it('leaves no trace in any object of its ids or in the index, answers with a receipt, and drops later events', async () => {
    const anon = uid('a');
    const email = `${uid('erase')}@example.com`;
    const user = uid('u');
    await browserBatch([{ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/pricing' } }]);
    await serverBatch([{ type: 'identify', userId: user, anonymousId: anon, messageId: uid('m'), traits: { email } }]);
    await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
    await drain(`u:${user}`);
    expect((await env.INDEX.prepare('SELECT COUNT(*) AS n FROM leads WHERE key = ?').bind(`u:${user}`).first<{ n: number }>())!.n).toBe(1);

    const res = await call(`/v1/leads/${encodeURIComponent(email)}`, { method: 'DELETE', headers: { Authorization: SECRET } });
    expect(res.status).toBe(200);
    const receipt = await res.json<any>();
    expect(receipt).toMatchObject({ erased: true, id: user, events: 3 });
    expect(receipt.ids.sort()).toEqual([anon, email, user].sort());
    expect(Date.parse(receipt.quarantineUntil) - Date.parse(receipt.erasedAt)).toBe(30 * 86_400_000);

    for (const id of [user, email, anon]) expect((await readLead(id)).status, id).toBe(404);
    for (const key of [`u:${user}`, `e:${email}`, `a:${anon}`]) {
      expect(await tablesOf(key), key).toEqual(['erased']);
      expect(await runInDurableObject(leadObject(key), (_, state) => state.storage.getAlarm()), key).toBeNull();
    }
    expect((await env.INDEX.prepare('SELECT COUNT(*) AS n FROM leads WHERE key IN (?, ?, ?)').bind(`u:${user}`, `e:${email}`, `a:${anon}`).first<{ n: number }>())!.n).toBe(0);

    // The person's browser still runs the tracker; the CRM still syncs: nothing comes back.
    const later = await browserBatch([{ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/' } }]);
    expect(await later.json<any>()).toMatchObject({ accepted: 0, erased: 1 });
    await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended' }]);
    expect((await readLead(user)).status).toBe(404);
    expect(await tablesOf(`u:${user}`)).toEqual(['erased']);
    // A second erase finds nothing.
    expect((await call(`/v1/leads/${user}`, { method: 'DELETE', headers: { Authorization: SECRET } })).status).toBe(404);
  });

  it('after the quarantine the id may start a new lead', async () => {
    const user = uid('u');
    await serverBatch([{ type: 'page', userId: user, messageId: uid('m'), properties: { path: '/' } }]);
    await drain(`u:${user}`);
    await call(`/v1/leads/${user}`, { method: 'DELETE', headers: { Authorization: SECRET } });
    await runInDurableObject(leadObject(`u:${user}`), (_, state) => state.storage.sql.exec('UPDATE erased SET until = ?', Date.now() - 1));
    const res = await serverBatch([{ type: 'page', userId: user, messageId: uid('m'), properties: { path: '/pricing' } }]);
    expect(await res.json<any>()).toMatchObject({ accepted: 1 });
    expect(await (await readLead(user)).json<any>()).toMatchObject({ id: user, events: 1 });
  });

  it('needs the secret key; an unknown lead is 404', async () => {
    const user = uid('u');
    await serverBatch([{ type: 'page', userId: user, messageId: uid('m'), properties: { path: '/' } }]);
    const site = await call(`/v1/leads/${user}`, { method: 'DELETE', headers: { Authorization: 'Basic ' + btoa('pk_demo:'), Origin: 'http://localhost:5173' } });
    expect(site.status).toBe(403);
    expect((await readLead(user)).status).toBe(200);
    expect((await call(`/v1/leads/${uid('nobody')}`, { method: 'DELETE', headers: { Authorization: SECRET } })).status).toBe(404);
  });
});

describe('export', () => {
  it('returns everything kept about the lead: its read, every event with its points, the ids merged into it', async () => {
    const anon = uid('a');
    const user = uid('u');
    await browserBatch([{ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/pricing' } }]);
    await serverBatch([{ type: 'identify', userId: user, anonymousId: anon, messageId: uid('m'), traits: { title: 'VP Marketing' } }]);
    const res = await call(`/v1/leads/${anon}/export`, { headers: { Authorization: SECRET } });
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body.lead).toMatchObject({ id: user });
    expect(body.events).toHaveLength(2);
    expect(body.events.find((e: any) => e.type === 'page')).toMatchObject({ source: 'site', points: 10 });
    expect(body.mergedIds).toEqual([anon]);
    expect(Array.isArray(body.queued)).toBe(true);
    expect((await call(`/v1/leads/${anon}/export`, { headers: { Authorization: 'Basic ' + btoa('pk_demo:'), Origin: 'http://localhost:5173' } })).status).toBe(403);
  });
});

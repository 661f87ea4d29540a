/**
 * Fit through the Worker: identify traits (and an account's) give the lead read its `fit` with reasons, the
 * export carries it, and a trait change reaches the D1 index at once, so the queue's `fit=` filter follows it.
 */
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { SECRET, call, drain, leadObject, readLead, restart, serverBatch, uid } from './helpers.js';

const list = async (query: string) => {
  const res = await call(`/v1/leads?${query}`, { headers: { Authorization: SECRET } });
  return { status: res.status, body: await res.json<any>() };
};
const identify = (userId: string, traits: Record<string, unknown>) => serverBatch([{ type: 'identify', userId, messageId: uid('m'), traits }]);
const VP = { title: 'VP Marketing', company: { name: 'Acme', employee_count: 250, industry: 'Software' }, address: { country: 'US' } };

describe('a lead’s fit', () => {
  it('identify traits give the lead read its grade, score and the reason for each point; the export carries it', async () => {
    const userId = uid('fit');
    await identify(userId, { email: `${userId}@example.com`, ...VP });
    const res = await readLead(userId);
    expect(res.status).toBe(200);
    const lead = await res.json<any>();
    expect(lead.fit).toEqual({
      grade: 'A',
      score: 70,
      reasons: [
        { trait: 'company.employee_count', value: 250, points: 20, label: '200–999 employees' },
        { trait: 'company.industry', value: 'Software', points: 20, label: 'Target industry' },
        { trait: 'title', value: 'VP Marketing', points: 20, label: 'Executive (C-level, VP or founder)' },
        { trait: 'address.country', value: 'US', points: 10, label: 'Core market' },
      ],
      missing: [],
    });
    // Kept, not cached: the same after every object restarts.
    await restart(`u:${userId}`);
    expect((await (await readLead(userId)).json<any>()).fit.score).toBe(70);
    const exported = await (await call(`/v1/leads/${userId}/export`, { headers: { Authorization: SECRET } })).json<any>();
    expect(exported.lead.fit.grade).toBe('A');
  });

  it('a lead with no traits is D with score 0, listing what it has not told us', async () => {
    const userId = uid('fit-none');
    await serverBatch([{ type: 'page', userId, messageId: uid('m'), properties: { path: '/' } }]);
    expect((await (await readLead(userId)).json<any>()).fit).toEqual({ grade: 'D', score: 0, reasons: [], missing: ['employees', 'industry', 'title', 'country'] });
  });

  it('context.traits on any call and the account of a group call count; the lead’s own traits win', async () => {
    const userId = uid('fit-ctx');
    await serverBatch([
      { type: 'page', userId, messageId: uid('m'), properties: { path: '/' }, context: { traits: { title: 'Director of IT' } } },
      { type: 'group', userId, messageId: uid('m'), groupId: 'acme', traits: { name: 'Acme', employees: 1200, industry: 'Fintech' } },
    ]);
    const fit = (await (await readLead(userId)).json<any>()).fit;
    expect(fit).toMatchObject({ grade: 'A', score: 60 });
    expect(fit.reasons).toEqual([
      { trait: 'employees', value: 1200, points: 25, label: '1,000+ employees', source: 'account' },
      { trait: 'industry', value: 'Fintech', points: 20, label: 'Target industry', source: 'account' },
      { trait: 'title', value: 'Director of IT', points: 15, label: 'Head or director' },
    ]);
  });
});

describe('fit in the work queue', () => {
  it('a trait change moves the grade and the fit= filter at once; each listed lead shows its fit', async () => {
    const prefix = uid('fitq');
    const good = `${prefix}-good`;
    const other = `${prefix}-other`;
    await identify(good, VP);
    await identify(other, { title: 'Marketing Intern' });
    await drain(`u:${good}`);
    await drain(`u:${other}`);
    const ab = await list(`q=${prefix}&fit=A,B`);
    expect(ab.status).toBe(200);
    expect(ab.body.leads.map((l: any) => [l.id, l.fit])).toEqual([[good, { grade: 'A', score: 70 }]]);
    expect((await list(`q=${prefix}&fit=d`)).body.leads.map((l: any) => [l.id, l.fit])).toEqual([[other, { grade: 'D', score: -20 }]]);

    // The VP leaves for a two-person shop abroad: the index row is due now, not after the score-only refresh.
    await identify(good, { title: 'Consultant', company: { name: 'Solo', employee_count: 2 }, address: { country: 'Atlantis' } });
    const due = await runInDurableObject(leadObject(`u:${good}`), (_, state) => state.storage.sql.exec("SELECT next_at FROM outbox WHERE dest = 'index'").one().next_at as number);
    expect(due).toBeLessThanOrEqual(Date.now());
    await drain(`u:${good}`);
    expect((await list(`q=${prefix}&fit=A,B`)).body.leads).toEqual([]);
    const d = await list(`q=${prefix}&fit=D`);
    expect(d.body.leads.map((l: any) => [l.id, l.fit.grade, l.fit.score]).sort()).toEqual([
      [good, 'D', -10],
      [other, 'D', -20],
    ]);
    expect((await (await readLead(good)).json<any>()).fit).toMatchObject({ grade: 'D', score: -10, reasons: [{ trait: 'company.employee_count', value: 2, points: -10 }] });
  });

  it('refuses a grade that is not one, naming it', async () => {
    for (const q of ['fit=E', 'fit=A,excellent', 'fit=A&fit=B']) {
      const r = await list(q);
      expect(r.status, q).toBe(400);
      expect(r.body.problems.map((p: any) => p.path), q).toEqual(['fit']);
    }
    // A team filter names a team of the teams file.
    const team = await list('team=closers');
    expect(team.status).toBe(400);
    expect(team.body.problems[0]).toMatchObject({ path: 'team', reason: expect.stringMatching(/not a team of leadlevel\.teams\.json/) });
  });
});

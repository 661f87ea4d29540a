/**
 * Conversion evidence on a deployment: events ingested through the real collector, each lead's learning record
 * written to its index row through its outbox, the analysis (`GET /v1/insights/conversion`) a query on the
 * index, and `GET /v1/export` an NDJSON stream the backtest replays into the very same numbers.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { analyze, conversionProbability, type ConversionReport } from '../../shared/learn/analysis.js';
import { Replay } from '../../shared/learn/replay.js';
import { activeModel } from '../../worker/model.js';
import { probabilityView } from '../../worker/learning.js';
import { population } from '../helpers/population.js';
import { BASE, DAY, call, drain, env, iso, leadObject, readLead, restart, SECRET, serverBatch, uid } from './helpers.js';

const HOUR = 3_600_000;
const secret = { headers: { Authorization: SECRET } };
// Our population's leads were first seen inside this window, which no other test writes into.
const start = Math.floor((Date.now() - 80 * DAY) / HOUR) * HOUR + 17 * 60_000;
const period = `from=${iso(start - HOUR)}&to=${iso(start + 25 * DAY)}`;
const leads = population({ leads: 120, seed: 31, start, prefix: uid('lp') });

async function ingestAll(): Promise<void> {
  const messages = leads.flatMap((l) => l.messages);
  for (let i = 0; i < messages.length; i += 100) {
    const res = await serverBatch(messages.slice(i, i + 100));
    expect(res.status, await res.clone().text()).toBe(200);
  }
  for (const l of leads) await drain(`u:${l.id}`);
}

function replayed(text: string, opts: { holdout?: number; seed?: number } = {}): ConversionReport {
  const lines = text.split('\n').filter(Boolean);
  const replay = new Replay(activeModel());
  lines.forEach((l, i) => replay.link(l, i + 1));
  lines.forEach((l, i) => replay.add(l, i + 1));
  return analyze(activeModel(), replay.records(), opts);
}

describe('conversion evidence', () => {
  let report: ConversionReport;
  let exported: string;

  it('each lead writes its learning record to the index: actions before the conversion only', async () => {
    await ingestAll();
    const converted = leads.find((l) => l.converted && l.counts.demo_request)!;
    const row = await env.INDEX.prepare('SELECT first_seen_at, converted_at, learning FROM leads WHERE key = ?').bind(`u:${converted.id}`).first<{ first_seen_at: number; converted_at: number; learning: string }>();
    const learning = JSON.parse(row!.learning);
    expect(row!.first_seen_at).toBe(Date.parse(converted.messages[0].timestamp as string));
    const opportunity = converted.messages.find((m) => m.event === 'Opportunity Created')!;
    expect(row!.converted_at).toBe(Date.parse(opportunity.timestamp as string));
    // One definition of converted: the index's column (the insights' conversion) and the record's agree.
    expect(learning.convertedAt).toBe(row!.converted_at);
    expect(learning.counts['rule:demo_request']).toBe(1);
    expect(learning.counts['rule:pricing_visit'] ?? 0).toBe(converted.counts.pricing_visit);
    // The webinar and the pricing view after the opportunity are not counted.
    expect(learning.counts['rule:webinar_attended']).toBeUndefined();
  }, 60_000);

  it('GET /v1/insights/conversion analyses the index for the period', async () => {
    const res = await call(`/v1/insights/conversion?${period}&holdout=0.3&seed=5`, secret);
    expect(res.status, await res.clone().text()).toBe(200);
    report = await res.json();
    expect(report.leads).toBe(120);
    expect(report.conversions).toBe(leads.filter((l) => l.converted).length);
    expect(report.enoughData).toBe(true);
    expect(report.actions.find((a) => a.id === 'webinar_attended' && a.kind === 'rule')!.with.leads).toBe(0);
    expect(report.suggestedWeights!.weights.find((w) => w.rule === 'demo_request')!.suggested).toBeGreaterThan(0);
  });

  it('GET /v1/export streams every lead’s events, oldest first, and replayed they give the API’s numbers', async () => {
    const res = await call(`/v1/export?${period}`, secret);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/x-ndjson/);
    exported = await res.text();
    const lines = exported.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines).toHaveLength(leads.reduce((s, l) => s + l.messages.length, 0));
    // Lead after lead, each in time order.
    const seen = new Set<string>();
    let last: { userId: string; timestamp: string } | null = null;
    for (const m of lines) {
      if (m.userId !== last?.userId) {
        expect(seen.has(m.userId)).toBe(false);
        seen.add(m.userId);
      } else expect(Date.parse(m.timestamp)).toBeGreaterThanOrEqual(Date.parse(last!.timestamp));
      last = m;
    }
    expect(JSON.parse(JSON.stringify(replayed(exported, { holdout: 0.3, seed: 5 })))).toEqual(report);
  });

  it('pages a long history, and skips leads first seen outside the period', async () => {
    const user = uid('long');
    const t0 = start + 2 * DAY;
    const batch = Array.from({ length: 1_100 }, (_, i) => ({ type: 'page', userId: user, messageId: `p${i}`, timestamp: iso(t0 + i * 60_000), properties: { path: `/blog/${i}` } }));
    for (let i = 0; i < batch.length; i += 100) expect((await serverBatch(batch.slice(i, i + 100))).status).toBe(200);
    const outside = uid('out');
    await serverBatch([{ type: 'page', userId: outside, messageId: 'o1', timestamp: iso(start + 40 * DAY), properties: { path: '/' } }]);
    await drain(`u:${user}`);
    await drain(`u:${outside}`);
    const lines = (await (await call(`/v1/export?${period}`, secret)).text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const mine = lines.filter((m) => m.userId === user);
    expect(mine.map((m) => m.messageId)).toEqual(batch.map((m) => `srv:${m.messageId}`));
    expect(lines.some((m) => m.userId === outside)).toBe(false);
  });

  it('a lead read carries the conversion probability of the stored fit', async () => {
    // With the defaults and no period, the analysis is the whole index: the fit lead reads apply.
    const whole = await (await call('/v1/insights/conversion', secret)).json<ConversionReport>();
    expect(whole.enoughData).toBe(true);
    const lead = leads.find((l) => l.converted)!;
    const read = await (await readLead(lead.id)).json<any>();
    const row = await env.INDEX.prepare('SELECT learning FROM leads WHERE key = ?').bind(`u:${lead.id}`).first<{ learning: string }>();
    expect(read.conversionProbability).toBeCloseTo(conversionProbability(whole.fit!, JSON.parse(row!.learning)), 12);
    expect(read.conversionModel).toMatchObject({ leads: whole.leads, conversions: whole.conversions, reason: null });
  });

  it('below the minimum the probability is null, and says why', () => {
    const view = probabilityView({ fittedAt: 0, leads: 30, conversions: 3, fit: null, reason: 'not enough data: 3 converted and 27 other leads; …', brier: null, calibrationError: null }, { counts: {}, convertedAt: null, levelRank: 0, engagementScore: 0, leadScore: 0, at: null });
    expect(view.conversionProbability).toBeNull();
    expect(view.conversionModel.reason).toMatch(/^not enough data/);
    expect(probabilityView(null, null).conversionModel.reason).toMatch(/being fitted/);
  });

  it('a lead stored before learning records existed is rescored once, by its own alarm', async () => {
    const lead = leads[3];
    const key = `u:${lead.id}`;
    // The record is its own meta row (store.ts): a state stored before records existed has none.
    const before = await runInDurableObject(leadObject(key), (_, state) => {
      const learn = JSON.parse(state.storage.sql.exec("SELECT v FROM meta WHERE k = 'learn'").one().v as string);
      expect(JSON.parse(state.storage.sql.exec("SELECT v FROM meta WHERE k = 'state'").one().v as string).learn).toBeUndefined();
      state.storage.sql.exec("DELETE FROM meta WHERE k = 'learn'");
      return learn;
    });
    expect(before.counts['rule:homepage_visit']).toBe(1);
    await restart(key);
    // The object marks itself for rescoring as it starts; the alarm does it.
    await readLead(lead.id);
    await runDurableObjectAlarm(leadObject(key));
    const after = await runInDurableObject(leadObject(key), (_, state) => JSON.parse(state.storage.sql.exec("SELECT v FROM meta WHERE k = 'learn'").one().v as string));
    expect(after).toEqual(before);
  });

  it('refuses bad parameters and site keys, with the problem named', async () => {
    const cases: [string, string][] = [
      ['/v1/insights/conversion?holdout=2', 'holdout'],
      ['/v1/insights/conversion?seed=x', 'seed'],
      ['/v1/insights/conversion?from=yesterday', 'from'],
      ['/v1/insights/conversion?from=2026-03-02&to=2026-03-01', 'from'],
      ['/v1/insights/conversion?from=2026-03-01T00:00:00&to=2026-03-02', 'from'],
      ['/v1/insights/conversion?limit=5', 'limit'],
      ['/v1/export?from=2026-13-45', 'from'],
      ['/v1/export?to=2026-02-30', 'to'],
      ['/v1/export?holdout=0.3', 'holdout'],
    ];
    for (const [path, param] of cases) {
      const res = await call(path, secret);
      expect(res.status, path).toBe(400);
      const body = await res.json<any>();
      expect(body.problems.map((p: any) => p.path), path).toContain(param);
    }
    for (const path of ['/v1/insights/conversion', '/v1/export']) {
      const res = await call(path, { headers: { Authorization: 'Basic ' + btoa('pk_demo:'), Origin: 'http://localhost:5173' } });
      expect(res.status, path).toBe(403);
      expect((await res.json<any>()).error).toBe('secret_key_required');
      expect((await call(path)).status, path).toBe(401);
    }
    void BASE;
  });
});

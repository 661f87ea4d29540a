/**
 * The simulated population (scripts/simulate.ts) through the collector as `npm start` runs it: deterministic per
 * seed, and once its leads' outboxes have written the index, the insights show what such a population should.
 */
import { describe, expect, inject, it } from 'vitest';
import { population, simulate } from '../../scripts/simulate.js';

const collector = inject('collector');
const SECRET = { Authorization: 'Bearer sk_dev' };
const get = async (path: string) => {
  const res = await fetch(collector + path, { headers: SECRET });
  expect(res.status, path).toBe(200);
  return (await res.json()) as any;
};

describe('the simulated population', () => {
  it('is the same for the same seed and differs for another', () => {
    const now = Date.UTC(2026, 3, 1);
    const a = population(7, 200, 90, now);
    expect(population(7, 200, 90, now)).toEqual(a);
    expect(population(8, 200, 90, now).messages).not.toEqual(a.messages);
    expect(Object.keys(a.summary.bySource).sort()).toEqual(['direct', 'google/cpc', 'linkedin/paid-social', 'newsletter/email', 'organic', 'referral']);
    const times = a.messages.flat().map((m) => Date.parse(m.timestamp));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(now - 90 * 86_400_000);
    expect(Math.max(...times)).toBeLessThan(now);
  });

  // 400 leads through the collector twice, then the index catching up: minutes on a loaded machine.
  it('loads through the ingest path and gives plausible insights', { timeout: 240_000 }, async () => {
    const before = (await get('/v1/insights/levels')).total.now as number;
    const now = Date.now();
    const summary = await simulate({ url: collector, seed: 42, leads: 400, days: 90, now });
    expect(summary.rejected).toBe(0);
    expect(summary.opportunities).toBeGreaterThan(0);
    // Every simulated lead is one row once its outbox has delivered (merged visitors leave theirs).
    let levels: any;
    for (let i = 0; i < 150; i++) {
      levels = await get(`/v1/insights/levels?from=${new Date(now - 91 * 86_400_000).toISOString()}&interval=week`);
      if (levels.total.now - before >= summary.leads && levels.total.converted >= summary.opportunities) break;
      await new Promise((r) => setTimeout(r, 400));
    }
    expect(levels.total.now - before).toBe(summary.leads);
    expect(levels.total.converted).toBeGreaterThanOrEqual(summary.opportunities);
    const byId = Object.fromEntries(levels.levels.map((l: any) => [l.id, l]));
    for (const id of ['cold', 'warm', 'engaged', 'hot', 'very_hot']) expect(byId[id].entered, id).toBeGreaterThan(0);
    expect(byId.cold.averageDaysInLevel).toBeGreaterThan(0);
    expect(byId.very_hot.conversionRate).toBeGreaterThan(0);
    expect(byId.cold.progressionRate).toBeGreaterThan(0);
    expect(byId.cold.progressionRate).toBeLessThan(1);

    const index = await get('/v1/insights/engagement-index?by=source&limit=100');
    const groups = Object.fromEntries(index.groups.map((g: any) => [g.group, g]));
    for (const source of ['google', 'linkedin', 'newsletter', 'direct']) expect(groups[source]?.leads, source).toBeGreaterThan(0);
    // Paid search brings more engaged leads than visitors who come direct, as the profiles say.
    expect(groups.google.index).toBeGreaterThan(groups.direct.index);
    expect(index.overall.index).toBeGreaterThan(0);
    expect(index.overall.index).toBeLessThan(1);
    const campaigns = await get('/v1/insights/engagement-index?by=campaign&limit=100');
    expect(campaigns.groups.map((g: any) => g.group)).toEqual(expect.arrayContaining(['brand-search', 'monthly-digest', '(none)']));

    // Sent again (a restart that lost its marker): the same message ids, nothing counted twice.
    await simulate({ url: collector, seed: 42, leads: 400, days: 90, now });
    await new Promise((r) => setTimeout(r, 2_000));
    const again = await get(`/v1/insights/levels?from=${new Date(now - 91 * 86_400_000).toISOString()}&interval=week`);
    expect(again.total.now).toBe(levels.total.now);
    expect(again.total.converted).toBe(levels.total.converted);
  });
});

/**
 * The insights API on a small population written straight into the index by its own writer (writeIndex, as
 * each lead's outbox writes it), in 2001 where no other test's leads live, so every figure is exact.
 */
import { describe, expect, it } from 'vitest';
import { writeIndex, type IndexRow, type LevelSpanNews } from '../../worker/lead-index.js';
import { DAY, SECRET, call, env, uid } from './helpers.js';

const T = Date.UTC(2001, 2, 1);
const RANK: Record<string, number> = { cold: 0, warm: 1, engaged: 2, hot: 3, very_hot: 4 };

/** A lead first seen `seen` days after T, through levels `[day, level]`, with its first touch. */
async function lead(levels: [number, string][], touch: { source: string; medium?: string; campaign?: string }, convertedDay?: number) {
  const key = `u:${uid('pop')}`;
  const history: LevelSpanNews[] = levels.map(([d, to], i) => ({ at: T + d * DAY, from: i ? levels[i - 1][1] : '', to, rank: RANK[to], reason: i ? 'tier' : 'start' }));
  const last = levels[levels.length - 1][1];
  const row: IndexRow = {
    key, id: key.slice(2), email: null, userId: key.slice(2), level: last, levelRank: RANK[last], levelSince: history[history.length - 1].at, engagementScore: 0, leadScore: 0,
    momentum: 0, stage: null, fitGrade: null, fitScore: null, doNotContact: false, lastActivityAt: null, model: 'b2b-default', modelVersion: 1, updatedAt: T, teams: [],
    slaTeam: null, slaState: null, slaDueAt: null, firstSeenAt: T + levels[0][0] * DAY, source: touch.source, medium: touch.medium ?? null, campaign: touch.campaign ?? null, referrer: null,
    convertedAt: convertedDay === undefined ? null : T + convertedDay * DAY, opportunityAt: convertedDay === undefined ? null : T + convertedDay * DAY,
  };
  await writeIndex(env.INDEX, 1, { upsert: row, levels: history });
  return key;
}

const get = (path: string) => call(path, { headers: { Authorization: SECRET } });
const WINDOW = `from=2001-03-01&to=${new Date(T + 14 * DAY).toISOString()}`;

async function population() {
  const keys = [
    await lead([[0, 'cold'], [2, 'warm'], [5, 'engaged']], { source: 'google', medium: 'cpc', campaign: 'c1' }, 8), // A
    await lead([[1, 'cold'], [3, 'engaged'], [10, 'warm']], { source: 'google', medium: 'cpc', campaign: 'c1' }), // B
    await lead([[-10, 'cold'], [-2, 'warm']], { source: 'newsletter', medium: 'email' }), // C
    await lead([[4, 'cold']], { source: 'direct', medium: 'none' }), // D
  ];
  return keys;
}

describe('insights', () => {
  it('levels: the distribution over time, time in level, progression, conversion and days to opportunity', async () => {
    const before = await (await get('/v1/insights/levels')).json<any>();
    await population();
    const res = await get(`/v1/insights/levels?${WINDOW}&interval=day`);
    expect(res.status).toBe(200);
    const b = await res.json<any>();
    expect(b.series.at).toHaveLength(15);
    expect(b.series.at[0]).toBe('2001-03-01T00:00:00.000Z');
    const at = (k: number) => Object.fromEntries(Object.entries(b.series.counts).map(([id, v]: [string, any]) => [id, v[k]]));
    expect(at(0)).toEqual({ cold: 1, warm: 1, engaged: 0, hot: 0, very_hot: 0 });
    expect(at(3)).toEqual({ cold: 0, warm: 2, engaged: 1, hot: 0, very_hot: 0 });
    expect(at(14)).toEqual({ cold: 1, warm: 2, engaged: 1, hot: 0, very_hot: 0 });
    expect(b.series.total[14]).toBe(4);
    const level = (id: string) => b.levels.find((l: any) => l.id === id);
    expect(level('cold')).toMatchObject({ name: 'Cold', entered: 3, spans: 3, averageDaysInLevel: 4.67, progressed: 2, progressionRate: 0.6667, converted: 1, conversionRate: 0.3333, daysToOpportunity: 8 });
    expect(level('warm')).toMatchObject({ entered: 2, averageDaysInLevel: 3.5, progressionRate: 0.5, conversionRate: 0.5, daysToOpportunity: 6 });
    expect(level('engaged')).toMatchObject({ entered: 2, averageDaysInLevel: 8, progressionRate: 0, conversionRate: 0.5, daysToOpportunity: 3 });
    expect(level('hot')).toMatchObject({ entered: 0, averageDaysInLevel: null, progressionRate: null, conversionRate: null, daysToOpportunity: null });
    expect(level('very_hot')).toMatchObject({ progressed: null, progressionRate: null });
    expect(b.total).toMatchObject({ firstSeen: 3, converted: 1, daysToOpportunity: 8 });
    // "Now" counts every lead of the index: these four added one cold, two warm and one engaged.
    const now = await (await get('/v1/insights/levels')).json<any>();
    const delta = (id: string) => now.levels.find((l: any) => l.id === id).now - before.levels.find((l: any) => l.id === id).now;
    expect([delta('cold'), delta('warm'), delta('engaged'), delta('hot')]).toEqual([1, 2, 1, 0]);

    const weekly = await (await get(`/v1/insights/levels?${WINDOW}&interval=week`)).json<any>();
    expect(weekly.series.at).toEqual(['2001-03-01T00:00:00.000Z', '2001-03-08T00:00:00.000Z', '2001-03-15T00:00:00.000Z']);
    expect(weekly.series.counts.engaged).toEqual([0, 2, 1]);
  });

  it('engagement index: the share at engaged or above of the leads seen so far, per group, with the week-over-week change', async () => {
    const res = await get(`/v1/insights/engagement-index?by=source&${WINDOW}`);
    expect(res.status).toBe(200);
    const b = await res.json<any>();
    expect(b.engagedLevels).toEqual(['engaged', 'hot', 'very_hot']);
    const google = b.groups.find((g: any) => g.group === 'google');
    expect(google).toMatchObject({ index: 0.5, engaged: 1, leads: 2, weekOverWeek: { before: 1, change: -0.5 } });
    expect(google.series.index.slice(0, 4)).toEqual([0, 0, 0, 0.5]);
    expect(google.series.leads.slice(0, 2)).toEqual([1, 2]);
    expect(b.groups.find((g: any) => g.group === 'newsletter')).toMatchObject({ index: 0, leads: 1 });
    expect(b.overall).toMatchObject({ index: 0.25, engaged: 1, leads: 4, weekOverWeek: { before: 0.5, change: -0.25 } });
    expect(b.overall.series.index[0]).toBe(0);
    expect(b.series.at).toHaveLength(15);

    const byCampaign = await (await get(`/v1/insights/engagement-index?by=campaign&${WINDOW}`)).json<any>();
    expect(byCampaign.groups.map((g: any) => [g.group, g.leads, g.engaged])).toEqual([
      ['(none)', 2, 0],
      ['c1', 2, 1],
    ]);
    const one = await (await get(`/v1/insights/engagement-index?by=source&limit=1&${WINDOW}`)).json<any>();
    expect(one.groups.map((g: any) => g.group)).toEqual(['google']);
    expect(one.moreGroups).toBe(2);
  });

  it('bad parameters are 400s naming each; a site key is refused', async () => {
    const bad = async (q: string, ...paths: string[]) => {
      const r = await get(`/v1/insights/engagement-index?${q}`);
      expect(r.status, q).toBe(400);
      const body = await r.json<any>();
      expect(body.problems.map((p: any) => p.path), q).toEqual(paths);
    };
    await bad('by=country', 'by');
    await bad('interval=month', 'interval');
    await bad('from=yesterday&to=2026-13-01', 'to', 'from');
    await bad('from=2026-02-01&to=2026-01-01', 'from');
    await bad('from=2020-01-01&to=2026-01-01', 'from');
    await bad('limit=0&color=red', 'color', 'limit');
    await bad('by=source&by=medium', 'by');
    expect((await get('/v1/insights/levels?from=2001-01-01T00:00:00&to=x')).status).toBe(400);
    expect((await get('/v1/insights/levels?from=2020-01-01&to=2026-01-01&interval=week')).status).toBe(200);
    const site = await call('/v1/insights/levels', { headers: { Authorization: 'Basic ' + btoa('pk_demo:'), Origin: 'http://localhost:5173' } });
    expect(site.status).toBe(403);
    expect((await call('/v1/insights/levels')).status).toBe(401);
  });
});

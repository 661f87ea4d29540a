/**
 * The engagement-index drop alert: the Worker's scheduled handler (the Cron Trigger) compares each source's index
 * with a week before and tells the teams file's marketing team (test/worker/teams.fixture.json) of a fall of 0.1
 * or more, once a week per group; a smaller fall, or a group under minLeads, tells nobody. A receiver that fails
 * gets the same message again on the next run.
 */
import { createScheduledController } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../worker/index.js';
import { writeIndex, type IndexRow, type LevelSpanNews } from '../../worker/lead-index.js';
import { DAY, SECRET, call, env, uid } from './helpers.js';
import { mode, verify, type Received } from './receiver.js';

const receiver = env.TEST_RECEIVER;
const RANK: Record<string, number> = { cold: 0, warm: 1, engaged: 2 };

/** `n` leads of `source`, engaged since 10 days ago; `dropped` of them warm since 2 days ago. */
async function cohort(source: string, n: number, dropped: number) {
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const key = `u:${uid('alert')}`;
    const steps: [number, string][] = [[now - 12 * DAY, 'cold'], [now - 10 * DAY, 'engaged'], ...(i < dropped ? ([[now - 2 * DAY, 'warm']] as [number, string][]) : [])];
    const levels: LevelSpanNews[] = steps.map(([at, to], k) => ({ at, from: k ? steps[k - 1][1] : '', to, rank: RANK[to], reason: k ? 'tier' : 'start' }));
    const last = steps[steps.length - 1];
    const row: IndexRow = {
      key, id: key.slice(2), email: null, userId: key.slice(2), level: last[1], levelRank: RANK[last[1]], levelSince: last[0], engagementScore: 0, leadScore: 0, momentum: 0,
      stage: null, fitGrade: null, fitScore: null, doNotContact: false, lastActivityAt: null, model: 'b2b-default', modelVersion: 1, updatedAt: now, teams: [], slaTeam: null,
      slaState: null, slaDueAt: null, firstSeenAt: now - 12 * DAY, source, medium: 'cpc', campaign: null, referrer: null, convertedAt: null, opportunityAt: null,
    };
    await writeIndex(env.INDEX, 1, { upsert: row, levels });
  }
}

const runSchedule = () => worker.scheduled(createScheduledController({ cron: '17 * * * *', scheduledTime: Date.now() }), env as never);
const alertsFor = async (source: string) =>
  ((await (await fetch(`${receiver}/_log/marketing`)).json()) as Received[]).filter((r) => JSON.parse(r.body).data?.insights?.group === source);

describe('the engagement-index drop alert', () => {
  it('tells the team once a week of a group that fell by the threshold, and nobody of one that fell less or is too small', async () => {
    const drop = uid('drop');
    const slight = uid('slight');
    const small = uid('small');
    await cohort(drop, 20, 10);
    await cohort(slight, 20, 1);
    await cohort(small, 5, 5);
    await runSchedule();
    const got = await alertsFor(drop);
    expect(got).toHaveLength(1);
    // Signed as every webhook is (Standard Webhooks, checked with its own library).
    const body = verify(got[0]);
    expect(body).toMatchObject({ type: 'insights.engagement_index_dropped', data: { lead: null, team: { id: 'marketing' }, insights: { by: 'source', group: drop, index: 0.5, before: 1, change: -0.5, threshold: 0.1, leads: 20, engaged: 10 } } });
    expect(await alertsFor(slight)).toHaveLength(0);
    expect(await alertsFor(small)).toHaveLength(0);

    // The next run, the same week: not again.
    await runSchedule();
    expect(await alertsFor(drop)).toHaveLength(1);
    const listed = await (await call('/v1/deliveries?team=marketing&limit=200', { headers: { Authorization: SECRET } })).json<any>();
    const mine = listed.deliveries.filter((d: any) => d.payload?.data?.insights?.group === drop);
    expect(mine.map((d: any) => [d.type, d.status, d.lead])).toEqual([['insights.engagement_index_dropped', 'delivered', `source:${drop}`]]);
  });

  it('a receiver that fails is sent the same message on the next run', async () => {
    const drop = uid('drop');
    await cohort(drop, 20, 20);
    await mode('marketing', 503);
    try {
      await runSchedule();
    } finally {
      await mode('marketing', 200);
    }
    await runSchedule();
    const got = await alertsFor(drop);
    expect(got.map((r) => r.status)).toEqual([503, 200]);
    expect(got[1].headers['webhook-id']).toBe(got[0].headers['webhook-id']);
  });
});

describe('the alert in the teams file', () => {
  it('names each mistake', async () => {
    const { validateTeams } = await import('../../worker/notify/teams.js');
    const teams = [{ id: 'marketing', name: 'Marketing', destinations: [] }];
    expect(validateTeams({ teams, alerts: { engagementIndexDrop: { threshold: 0.1, team: 'marketing' } } })).toEqual([]);
    const problems = validateTeams({ teams, alerts: { engagementIndexDrop: { threshold: 10, team: 'growth', by: 'country', minLeads: 0, color: 1 }, other: {} } });
    expect(problems.map((p) => p.path).sort()).toEqual(['alerts.engagementIndexDrop.by', 'alerts.engagementIndexDrop.color', 'alerts.engagementIndexDrop.minLeads', 'alerts.engagementIndexDrop.team', 'alerts.engagementIndexDrop.threshold', 'alerts.other'].sort());
    expect(validateTeams({ teams, alerts: 'yes' }).map((p) => p.path)).toEqual(['alerts']);
  });
});

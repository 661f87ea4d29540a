/**
 * The stage-upward rule (SPEC, "Notifications": "when a lead moves up into a level or stage"): a stage route tells
 * its team when the lead moves up into the stage, and never when the lead comes back down into it — a refold (a
 * late delivery that holds a click, say) can move a lead to an earlier stage, and that is nobody's news. This file
 * runs its own model (b2b-default with two stages) and teams file (stage routes only), to the loopback receiver.
 */
import { describe, expect, it, vi } from 'vitest';
import { drain, readLead, serverBatch, uid } from './helpers.js';
import { received, verify } from './receiver.js';

vi.mock('../../leadlevel.model.json', async () => {
  const { b2bDefault } = await import('../../shared/models/b2b-default.js');
  const [engagement] = b2bDefault.scoringTypes;
  // A webinar (15 points) makes a marketing-qualified lead; an email click on top (5) a sales-qualified one.
  const stages = [
    { id: 'mql', name: 'Marketing qualified', minLeadScore: 15 },
    { id: 'sql', name: 'Sales qualified', minLeadScore: 20 },
  ];
  return { default: { extends: 'b2b-default', scoringTypes: [{ ...engagement, stages }] } };
});
vi.mock('leadlevel-teams', async () => {
  const { env } = await import('cloudflare:workers');
  const team = (id: string) => ({ id, name: `Stage ${id}`, destinations: [{ type: 'webhook', url: `${env.TEST_RECEIVER}/hooks/${id}` }] });
  return {
    file: 'stages.teams.json',
    default: {
      teams: [team('stage-mql'), team('stage-sql')],
      routes: [
        { when: { stage: 'mql' }, team: 'stage-mql' },
        { when: { stage: 'sql' }, team: 'stage-sql' },
      ],
    },
  };
});

const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const stageNews = async (box: string, user: string) => (await received(box, user)).filter((r) => r.headers['webhook-id']).map((r) => verify(r)).filter((b) => b.type === 'lead.stage_changed');
const stageOf = async (user: string) => ((await (await readLead(user)).json()) as { stage: string | null }).stage;

describe('stage notifications', () => {
  it('a move up into a stage tells its team; a move back down into an earlier stage tells nobody', { timeout: 30_000 }, async () => {
    const user = uid('u');
    const t0 = Date.now() - 10 * 60_000;
    const email = (event: string, at: number) => ({ type: 'track', userId: user, messageId: uid('m'), event, timestamp: new Date(at).toISOString(), properties: { providerMessageId: `msg-${user}`, url: 'https://example.com/offer' }, context: { userAgent: CHROME } });

    // Up into mql (a webinar), then up into sql (an email click a minute later): each stage's team is told once.
    expect((await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended', timestamp: new Date(t0).toISOString(), properties: {} }])).status).toBe(200);
    await drain(`u:${user}`);
    expect(await stageOf(user)).toBe('mql');
    expect((await serverBatch([email('Email Link Clicked', t0 + 60_000)])).status).toBe(200);
    await drain(`u:${user}`);
    expect(await stageOf(user)).toBe('sql');
    const mql = await stageNews('stage-mql', user);
    expect(mql.map((b) => b.data.change)).toMatchObject([{ kind: 'stage', from: null, to: 'mql' }]);
    expect((await stageNews('stage-sql', user)).map((b) => b.data.change)).toMatchObject([{ kind: 'stage', from: 'mql', to: 'sql' }]);

    // The message's delivery arrives late, 2 s before the click: the click was a scanner's until a person shows up,
    // so the history is scored again without it and the lead is back in mql — moved down into it, not up.
    expect((await serverBatch([email('Email Delivered', t0 + 58_000)])).status).toBe(200);
    await drain(`u:${user}`);
    expect(await stageOf(user)).toBe('mql');
    expect(await stageNews('stage-mql', user)).toHaveLength(1);
    expect(await stageNews('stage-sql', user)).toHaveLength(1);

    // A page view releases the click (a person): up into sql again, which is news again.
    expect((await serverBatch([{ type: 'page', userId: user, messageId: uid('m'), properties: { path: '/features' }, context: { userAgent: CHROME } }])).status).toBe(200);
    await drain(`u:${user}`);
    expect(await stageOf(user)).toBe('sql');
    expect(await stageNews('stage-sql', user)).toHaveLength(2);
    expect(await stageNews('stage-mql', user)).toHaveLength(1);
  });
});

/** The breach notification as people read it (worker/notify/message.ts, slack.ts, email.ts): whose SLA, when it was due. */
import { describe, expect, it } from 'vitest';
import { emailMessage } from '../../worker/notify/email.js';
import { headline, type NotificationBody } from '../../worker/notify/message.js';
import { slackMessage } from '../../worker/notify/slack.js';

const breach: NotificationBody = {
  type: 'lead.sla_breached',
  timestamp: '2026-04-20T18:03:11.000Z',
  data: {
    lead: { id: 'user-42', email: 'ada@example.com', level: 'very_hot', levelName: 'Very Hot', stage: null, scores: { engagement: 181, lead: 236, momentum: 44 }, fit: null, profileUrl: null },
    change: { kind: 'sla', scoringType: 'engagement', from: null, to: 'very_hot', fromName: null, toName: 'Very Hot', at: '2026-04-20T18:03:11.000Z' },
    reasons: [],
    treatment: null,
    team: { id: 'manager', name: 'Sales manager' },
    sla: { team: { id: 'ae', name: 'Account executives' }, level: 'very_hot', levelName: 'Very Hot', startedAt: '2026-04-20T14:03:11.000Z', dueAt: '2026-04-20T18:03:11.000Z', state: 'breached', breachedAt: '2026-04-20T18:03:11.000Z' },
  },
};

describe('a lead.sla_breached notification', () => {
  it('says whose SLA it was and when it was due, in the headline, the Slack fields and the email', () => {
    expect(headline(breach)).toBe('SLA breached: ada@example.com (Very Hot) was not contacted in time by Account executives (due 2026-04-20T18:03:11.000Z)');
    const slack = JSON.stringify(slackMessage(breach).blocks);
    expect(slack).toContain('*SLA*\\nAccount executives, Very Hot: started 2026-04-20T14:03:11.000Z, due 2026-04-20T18:03:11.000Z, not met');
    expect(slack).not.toContain('*Change*');
    expect(slack).toContain('*Team*\\nSales manager');
    expect(emailMessage(breach, 'from@example.com', ['vp@example.com']).subject).toBe(headline(breach));
  });
});

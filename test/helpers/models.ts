/** Models for engine tests beyond the shipped ones. */
import { b2bDefault } from '../../shared/models/b2b-default.js';
import type { Model } from '../../shared/model.js';

/** A model exercising every kind of cap, stages and an absence rule, on top of the default's rules. */
export const capsModel: Model = {
  id: 'caps',
  customEvents: ['Signal'],
  scoringTypes: [
    b2bDefault.scoringTypes[0],
    {
      id: 'partners',
      rules: [
        { id: 'page', match: { type: 'page' }, points: 3, caps: { perWindow: { days: 3, count: 4 } }, group: 'web' },
        { id: 'pricing', match: { type: 'page', path: '/pricing/**' }, points: 7, group: 'web' },
        { id: 'signal', match: { event: 'Signal' }, points: 9, caps: { perLead: 5 } },
        { id: 'open', match: { event: 'Email Opened' }, points: 2, activity: false },
        { id: 'unsub', match: { event: 'Unsubscribed' }, points: -20, caps: { perDay: 1 } },
      ],
      groups: [{ id: 'web', perDay: 12 }],
      dailyPointsCap: 30,
      windowDays: 14,
      inactivity: [{ afterDays: 10, points: -3 }],
      absence: [{ id: 'no_opens', match: { event: 'Email Opened' }, days: 20, points: -4 }],
      tiers: [
        { id: 'lead', min: 0 },
        { id: 'mql', min: 20 },
        { id: 'sql', min: 45 },
      ],
      floors: [{ id: 'sig', level: 'mql', match: { event: 'Signal' } }, { id: 'pages', level: 'sql', session: { distinctPages: 4 } }],
      surge: { points: 25, days: 5 },
      ladder: { sql: 4, mql: 9 },
      stages: [{ id: 'leads' }, { id: 'hot', minEngagementScore: 30 }, { id: 'mql', minLeadScore: 60, minLevel: 'sql' }],
    },
  ],
};

/** `b2b-default`: the model a site that configures nothing gets, exactly as SPEC's table describes it. */
import type { Floor, Holding, Model, Rule, ScoringType } from '../model.js';

const PRICING = ['/pricing', '/pricing/**'];
const HIGH_INTENT = ['/pricing/**', '/compare/**', '/docs/**'];

export const B2B_RULES: Rule[] = [
  { id: 'homepage_visit', name: 'Homepage visit', match: { type: 'page', path: '/' }, points: 2, caps: { perDay: 1 } },
  { id: 'pricing_visit', name: 'Pricing visit', match: { type: 'page', path: PRICING }, points: 10, caps: { perDay: 1 } },
  { id: 'other_page', name: 'Other page', match: { type: 'page' }, points: 1, caps: { perDay: 5 }, otherwise: true },
  {
    id: 'pricing_dwell',
    name: 'Pricing dwell ≥ 3 min',
    match: { event: 'Page Engaged', path: PRICING, minSeconds: 180 },
    points: 10,
    caps: { perDay: 1 },
  },
  { id: 'email_open', name: 'Email open', match: { event: 'Email Opened' }, points: 1, caps: { perDay: 3 }, activity: false },
  { id: 'email_click', name: 'Email click', match: { event: 'Email Link Clicked' }, points: 5, caps: { perDay: 3 } },
  { id: 'content_download', name: 'Content download', match: { event: 'Form Submitted', formKind: 'content_download' }, points: 8 },
  { id: 'case_study_download', name: 'Case study download', match: { event: 'Form Submitted', formKind: 'case_study_download' }, points: 8 },
  { id: 'webinar_signup', name: 'Webinar sign-up', match: { event: 'Form Submitted', formKind: 'webinar_signup' }, points: 5 },
  { id: 'webinar_attended', name: 'Webinar attended', match: { event: 'Webinar Attended' }, points: 15 },
  { id: 'demo_request', name: 'Demo request', match: { event: 'Form Submitted', formKind: 'demo_request' }, points: 20 },
  { id: 'contact_sales', name: 'Contact sales', match: { event: 'Form Submitted', formKind: 'contact_sales' }, points: 25 },
  { id: 'unsubscribe', name: 'Unsubscribe', match: { event: 'Unsubscribed' }, points: -50 },
];

/** Escalation floors, by the level they lift to. `top`, `high`, `mid`, `low` let presets with fewer tiers remap. */
export function b2bFloors(top: string, high: string, mid: string, low: string): Floor[] {
  return [
    {
      id: 'sales_request',
      name: 'Demo request, contact sales or pricing proposal',
      level: top,
      match: { event: 'Form Submitted', formKind: ['demo_request', 'contact_sales', 'pricing_proposal'] },
    },
    { id: 'pricing_dwell', name: 'Pricing page read ≥ 3 min', level: high, match: { event: 'Page Engaged', path: PRICING, minSeconds: 180 } },
    { id: 'roi_calculator', name: 'ROI calculator completed', level: high, match: { event: 'ROI Calculator Completed' } },
    { id: 'high_intent_session', name: '3+ pricing, compare or docs pages in one session', level: high, session: { distinctPages: 3, path: HIGH_INTENT } },
    { id: 'case_study', name: 'Case study download', level: mid, match: { event: 'Form Submitted', formKind: 'case_study_download' } },
    { id: 'webinar_attended', name: 'Webinar attended', level: mid, match: { event: 'Webinar Attended' } },
    { id: 'docs_or_compare', name: 'Docs or competitor comparison page', level: mid, match: { type: 'page', path: ['/docs/**', '/compare/**'] } },
    { id: 'download', name: 'Any download', level: low, match: { event: 'Form Submitted', formKind: ['content_download', 'case_study_download'] } },
    { id: 'email_click', name: 'Email click', level: low, match: { event: 'Email Link Clicked' } },
    { id: 'multi_page_session', name: '2+ pages in one session', level: low, session: { distinctPages: 2 } },
  ];
}

export const B2B_SUPPRESS = [{ event: 'Unsubscribed' }, { event: 'Email Bounced', properties: { type: 'hard' } }];

export const B2B_INACTIVITY = [
  { afterDays: 30, points: -10 },
  { afterDays: 60, points: -10 },
  { afterDays: 90, points: -10 },
];

export const B2B_ENGAGEMENT: ScoringType = {
  id: 'engagement',
  name: 'Engagement',
  rules: B2B_RULES,
  windowDays: 30,
  inactivity: B2B_INACTIVITY,
  tiers: [
    { id: 'cold', name: 'Cold', min: 0, max: 30 },
    { id: 'warm', name: 'Warm', min: 31, max: 75 },
    { id: 'engaged', name: 'Engaged', min: 76, max: 125 },
    { id: 'hot', name: 'Hot', min: 126, max: 175 },
    { id: 'very_hot', name: 'Very Hot', min: 176 },
  ],
  floors: b2bFloors('very_hot', 'hot', 'engaged', 'warm'),
  surge: { points: 40, days: 7 },
  ladder: { very_hot: 3, hot: 7, engaged: 14, warm: 30 },
  suppress: B2B_SUPPRESS,
};

/**
 * Machines held back (README, "Holding machines"): crawler and scanner user agents and honeypot clicks for good,
 * opens and clicks within 10 s of delivery and 3 clicks within 1 s until a page view or a form shows a person.
 * `/ll-trap` is the honeypot a marketer hides in emails (a link no person sees).
 */
export const B2B_HOLDING: Holding = {
  enabled: true,
  crawlers: true,
  afterDeliverySeconds: 10,
  burst: { clicks: 3, seconds: 1 },
  honeypot: ['/ll-trap*'],
  releaseOn: [{ type: 'page' }, { event: 'Form Submitted' }],
};

export const b2bDefault: Model = {
  id: 'b2b-default',
  name: 'B2B default',
  version: 1,
  scoringTypes: [B2B_ENGAGEMENT],
  holding: B2B_HOLDING,
};

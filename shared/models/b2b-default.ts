/** `b2b-default`: the model a site that configures nothing gets, exactly as SPEC's table describes it. */
import type { FitSection, Floor, Holding, Model, Rule, ScoringType } from '../model.js';

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
 * Fit for a B2B SaaS ideal customer profile (seed 000: company size, industry, role; SPEC adds country), in
 * Segment's trait names first (`company.employee_count`, `company.industry`, `title`, `address.country`), then
 * the common flat ones. A VP at a 200-person software company is an A (20 + 20 + 20); a manager at a 50-person
 * one in a core market a B (10 + 20 + 8 + 10); a lead who told us nothing a D.
 */
const EMPLOYEES = ['employees', 'company.employee_count', 'company.employees', 'company_size', 'companySize', 'numberOfEmployees'];
const INDUSTRY = ['industry', 'company.industry'];
const TITLE = ['title', 'jobTitle', 'job_title', 'role'];
const COUNTRY = ['country', 'address.country', 'company.country'];

export const B2B_FIT: FitSection = {
  rules: [
    { trait: EMPLOYEES, gte: 1000, points: 25, label: '1,000+ employees' },
    { trait: EMPLOYEES, gte: 200, lte: 999, points: 20, label: '200–999 employees' },
    { trait: EMPLOYEES, gte: 50, lte: 199, points: 10, label: '50–199 employees' },
    { trait: EMPLOYEES, lte: 9, points: -10, label: 'Fewer than 10 employees' },
    {
      trait: INDUSTRY,
      in: ['Software', 'SaaS', 'Computer Software', 'Technology', 'Information Technology', 'Information Technology and Services', 'Internet', 'Financial Services', 'Fintech', 'Marketing and Advertising', 'Marketing & Advertising', 'Telecommunications'],
      points: 20,
      label: 'Target industry',
    },
    {
      trait: INDUSTRY,
      in: ['Manufacturing', 'Retail', 'E-commerce', 'Healthcare', 'Hospital & Health Care', 'Media', 'Professional Services', 'Consulting', 'Management Consulting', 'Logistics'],
      points: 10,
      label: 'Adjacent industry',
    },
    { trait: TITLE, matches: 'Chief|CEO|CTO|CMO|CRO|COO|CFO|CIO|Founder|Co-Founder|Owner|President|VP|SVP|EVP|Vice President', points: 20, label: 'Executive (C-level, VP or founder)' },
    { trait: TITLE, matches: 'Head|Director', points: 15, label: 'Head or director', otherwise: true },
    { trait: TITLE, matches: 'Manager', points: 8, label: 'Manager', otherwise: true },
    { trait: TITLE, matches: 'Student|Intern|Trainee', points: -20, label: 'Student or intern' },
    {
      trait: COUNTRY,
      in: ['US', 'USA', 'United States', 'United States of America', 'CA', 'Canada', 'GB', 'UK', 'United Kingdom', 'IE', 'Ireland', 'DE', 'Germany', 'FR', 'France', 'NL', 'Netherlands', 'SE', 'Sweden', 'CH', 'Switzerland', 'AU', 'Australia'],
      points: 10,
      label: 'Core market',
    },
  ],
  grades: { A: 60, B: 40, C: 20 },
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
  fit: B2B_FIT,
  holding: B2B_HOLDING,
};

/**
 * SPEC's default model (`b2b-default`), rule by rule, at its exact boundaries, through the full recomputation.
 * The incremental form is proven equal to it in scorer.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../shared/compile.js';
import type { LeadEvent } from '../../shared/events.js';
import { b2bDefault, B2B_ENGAGEMENT, B2B_RULES } from '../../shared/models/b2b-default.js';
import { score } from '../../shared/score.js';
import type { Model } from '../../shared/model.js';
import { DAY, MIN, T0, at, dwell, form, page, track } from '../helpers/events.js';

const model = compileModel(b2bDefault);
const run = (events: LeadEvent[], now = events.reduce((m, e) => Math.max(m, e.timestamp), T0)) => score(model, events, now).types[0];
const points = (events: LeadEvent[], now?: number) => run(events, now).leadScore;

/** The default model plus a custom +1 event, to build exact scores; surge off where a test says so. */
function withPointRule(surge = true): ReturnType<typeof compileModel> {
  const m: Model = {
    ...b2bDefault,
    customEvents: ['Test Point'],
    scoringTypes: [{ ...B2B_ENGAGEMENT, rules: [...B2B_RULES, { id: 'test_point', match: { event: 'Test Point' }, points: 1 }], surge: surge ? B2B_ENGAGEMENT.surge : null }],
  };
  return compileModel(m);
}
const pointsAt = (n: number, t: (i: number) => number) => Array.from({ length: n }, (_, i) => track(t(i), 'Test Point'));

describe('rules and caps', () => {
  it('homepage visit: +2, once a UTC day', () => {
    expect(points([page(at(0, 9), '/')])).toBe(2);
    expect(points([page(at(0, 9), '/'), page(at(0, 20), '/')])).toBe(2);
    // 23:59:59.999 and 00:00 the next day are two days: two caps.
    expect(points([page(T0 + DAY - 1, '/'), page(T0 + DAY, '/')])).toBe(4);
  });

  it('pricing visit: +10 for /pricing and below, once a day; not for look-alike paths', () => {
    expect(points([page(at(0), '/pricing')])).toBe(10);
    expect(points([page(at(0), '/pricing/enterprise')])).toBe(10);
    expect(points([page(at(0), '/pricing'), page(at(0, 10), '/pricing/teams')])).toBe(10);
    expect(run([page(at(0), '/pricing-faq')]).ledger[0].rule).toBe('other_page');
  });

  it('other page: +1, at most 5 a day, only when no other page rule matched', () => {
    const six = ['/a', '/b', '/c', '/d', '/e', '/f'].map((p, i) => page(at(0, 9, i), p));
    expect(points(six)).toBe(5);
    const r = run(six);
    expect(r.ledger.filter((x) => x.clippedBy === 'perDay')).toHaveLength(1);
    expect(points([...six, page(at(1), '/g')])).toBe(6);
    // The second homepage visit matched the homepage rule (capped): it is not "any other page".
    expect(run([page(at(0), '/'), page(at(0, 10), '/')]).ledger.map((x) => x.rule)).toEqual(['homepage_visit', 'homepage_visit']);
  });

  it('pricing dwell: Page Engaged on /pricing with seconds ≥ 180 gives +10 once a day', () => {
    expect(points([dwell(at(0), 179)])).toBe(0);
    expect(points([dwell(at(0), 180)])).toBe(10);
    expect(points([dwell(at(0), 180), dwell(at(0, 9, 1), 240), dwell(at(0, 9, 2), 300)])).toBe(10);
    expect(points([dwell(at(0), 180), dwell(at(1), 200)])).toBe(20);
    expect(points([dwell(at(0), 600, '/docs')])).toBe(0);
  });

  it('email open: +1, 3 a day, and not activity', () => {
    const opens = [0, 1, 2, 3].map((i) => track(at(0, 9 + i), 'Email Opened'));
    const r = run(opens);
    expect(r.leadScore).toBe(3);
    expect(r.lastActivityAt).toBeNull();
    expect(r.level).toBe('cold');
  });

  it('email click: +5, 3 a day', () => {
    expect(points([0, 1, 2, 3].map((i) => track(at(0, 9 + i), 'Email Link Clicked')))).toBe(15);
  });

  it.each([
    ['content_download', 8],
    ['case_study_download', 8],
    ['webinar_signup', 5],
    ['demo_request', 20],
    ['contact_sales', 25],
    ['newsletter', 0],
    ['other', 0],
  ])('form %s gives %i, uncapped', (kind, pts) => {
    expect(points([form(at(0), kind)])).toBe(pts);
    expect(points([form(at(0), kind), form(at(0, 10), kind)])).toBe(2 * pts);
  });

  it('webinar attended: +15; unsubscribe: −50', () => {
    expect(points([track(at(0), 'Webinar Attended')])).toBe(15);
    const r = run([form(at(0), 'contact_sales'), track(at(0, 10), 'Unsubscribed')]);
    expect(r.leadScore).toBe(0);
    expect(r.ledger.find((x) => x.rule === 'unsubscribe')?.points).toBe(-50);
  });
});

describe('two scores', () => {
  it('engagement counts the window (today and the 29 days before), lead score everything', () => {
    const events = [page(at(0, 9), '/pricing')];
    expect(run(events, T0 + 30 * DAY - 1).engagementScore).toBe(10);
    expect(run(events, T0 + 30 * DAY).engagementScore).toBe(0);
    expect(run(events, T0 + 30 * DAY).leadScore).toBe(10);
  });

  it('idle 30, 60 and 90 days cost −10 each on the lead score, at the exact instant', () => {
    const events = [form(at(0), 'contact_sales'), page(at(0), '/pricing')]; // 35 points
    const t = at(0);
    expect(run(events, t + 30 * DAY - 1).leadScore).toBe(35);
    expect(run(events, t + 30 * DAY).leadScore).toBe(25);
    expect(run(events, t + 60 * DAY).leadScore).toBe(15);
    expect(run(events, t + 90 * DAY).leadScore).toBe(5);
    expect(run(events, t + 400 * DAY).leadScore).toBe(5);
  });

  it('penalties restart after new activity, and never push the lead score below 0', () => {
    const r = run([page(at(0), '/'), page(at(40), '/'), page(at(45), '/')], at(45) + 200 * DAY);
    // 6 points; idle spell 1 (day 0→40) cost 10; spell 2 (from day 45) cost 30: clamped at 0.
    expect(r.leadScore).toBe(0);
    const penalties = r.ledger.filter((x) => x.kind === 'inactivity');
    expect(penalties.map((x) => (x.at - at(0)) / DAY)).toEqual([30, 75, 105, 135]);
    const clamp = r.ledger.find((x) => x.kind === 'clamp' && x.score === 'lead');
    expect(clamp?.points).toBe(34);
  });

  it('the ledger adds up to both scores, clamp included', () => {
    const r = run([track(at(0), 'Unsubscribed'), page(at(1), '/pricing')], at(40));
    const lead = r.ledger.filter((x) => x.kind !== 'clamp' || x.score === 'lead').reduce((s, x) => s + x.points, 0);
    const eng = r.ledger.filter((x) => (x.kind === 'rule' && x.inWindow) || (x.kind === 'clamp' && x.score === 'engagement')).reduce((s, x) => s + x.points, 0);
    expect(r.leadScore).toBe(0);
    expect(lead).toBe(0);
    expect(eng).toBe(r.engagementScore);
  });
});

describe('score tiers', () => {
  const m = withPointRule(false);
  const level = (n: number) => score(m, pointsAt(n, (i) => at(0) + i * MIN), at(1)).types[0].level;
  it.each([
    [30, 'cold'],
    [31, 'warm'],
    [75, 'warm'],
    [76, 'engaged'],
    [125, 'engaged'],
    [126, 'hot'],
    [175, 'hot'],
    [176, 'very_hot'],
  ])('engagement %i is %s', (n, lvl) => expect(level(n)).toBe(lvl));
});

describe('escalation floors', () => {
  const lvl = (events: LeadEvent[]) => run(events).level;
  it('demo request, contact sales, pricing proposal → very_hot at once', () => {
    expect(lvl([form(at(0), 'demo_request')])).toBe('very_hot');
    expect(lvl([form(at(0), 'contact_sales')])).toBe('very_hot');
    expect(lvl([form(at(0), 'pricing_proposal')])).toBe('very_hot');
    expect(run([form(at(0), 'demo_request')]).reason).toMatchObject({ kind: 'floor', floor: 'sales_request' });
  });

  it('pricing dwell ≥ 180 s and the ROI calculator → hot', () => {
    expect(lvl([dwell(at(0), 179)])).toBe('cold');
    expect(lvl([dwell(at(0), 180)])).toBe('hot');
    expect(lvl([track(at(0), 'ROI Calculator Completed')])).toBe('hot');
  });

  it('3 distinct pricing/compare/docs pages in one session → hot; 2, or 3 split by a 30-minute gap, do not', () => {
    expect(lvl([page(at(0, 9, 0), '/pricing'), page(at(0, 9, 5), '/docs/api'), page(at(0, 9, 10), '/compare/hubspot')])).toBe('hot');
    expect(lvl([page(at(0, 9, 0), '/pricing'), page(at(0, 9, 5), '/docs/api'), page(at(0, 9, 10), '/docs/api')])).toBe('engaged');
    // Exactly 30 minutes without an event keeps the session; a minute more ends it.
    expect(lvl([page(at(0, 9, 0), '/pricing'), page(at(0, 9, 30), '/docs/api'), page(at(0, 10, 0), '/compare/x')])).toBe('hot');
    expect(lvl([page(at(0, 9, 0), '/pricing'), page(at(0, 9, 31), '/docs/api'), page(at(0, 10, 2), '/compare/x')])).toBe('engaged');
  });

  it('case study, webinar attended, docs or compare page → engaged', () => {
    expect(lvl([form(at(0), 'case_study_download')])).toBe('engaged');
    expect(lvl([track(at(0), 'Webinar Attended')])).toBe('engaged');
    expect(lvl([page(at(0), '/docs')])).toBe('engaged');
    expect(lvl([page(at(0), '/compare/marketo')])).toBe('engaged');
  });

  it('any download, email click, 2 pages in one session → warm; one page stays cold', () => {
    expect(lvl([form(at(0), 'content_download')])).toBe('warm');
    expect(lvl([track(at(0), 'Email Link Clicked')])).toBe('warm');
    expect(lvl([page(at(0, 9), '/'), page(at(0, 9, 10), '/features')])).toBe('warm');
    expect(lvl([page(at(0, 9), '/'), page(at(0, 9, 10), '/')])).toBe('cold');
    expect(lvl([page(at(0, 9), '/features')])).toBe('cold');
  });
});

describe('surge', () => {
  const m = withPointRule(true);
  it('a gain of 40 in 7 days lifts one tier above the score tier; 39 does not', () => {
    expect(score(m, pointsAt(39, (i) => at(0) + i * MIN), at(1)).types[0].level).toBe('warm');
    const r = score(m, pointsAt(40, (i) => at(0) + i * MIN), at(1)).types[0];
    expect(r.level).toBe('engaged');
    expect(r.reason).toMatchObject({ kind: 'surge', gain: 40 });
  });

  it('the same 40 points spread so no 7 days hold 40 are just warm', () => {
    // 5 points a day on days 0..7: by day 7 the gain over 7 days is 35.
    const events = Array.from({ length: 8 }, (_, d) => pointsAt(5, (i) => at(d) + i * MIN)).flat();
    expect(score(m, events, at(8)).types[0].level).toBe('warm');
  });
});

describe('de-escalation ladder', () => {
  const demo = [form(at(0), 'demo_request')];
  const t = at(0);
  const levelAt = (now: number, events = demo) => run(events, now).level;
  it('SPEC: very_hot idle since its demo request is hot on day 4, engaged on day 11, warm on day 25, cold on day 55', () => {
    expect(levelAt(t + 3 * DAY - 1)).toBe('very_hot');
    expect(levelAt(t + 3 * DAY)).toBe('hot');
    expect(levelAt(t + 10 * DAY - 1)).toBe('hot');
    expect(levelAt(t + 10 * DAY)).toBe('engaged');
    expect(levelAt(t + 24 * DAY - 1)).toBe('engaged');
    expect(levelAt(t + 24 * DAY)).toBe('warm');
    expect(levelAt(t + 54 * DAY - 1)).toBe('warm');
    expect(levelAt(t + 54 * DAY)).toBe('cold');
  });

  it('the timer starts at the later of entering the tier and the last activity', () => {
    const events = [...demo, page(at(2), '/blog/x')];
    expect(levelAt(at(2) + 3 * DAY - 1, events)).toBe('very_hot');
    expect(levelAt(at(2) + 3 * DAY, events)).toBe('hot');
  });

  it('email opens are not activity: they do not hold a level up', () => {
    const events = [...demo, track(at(1), 'Email Opened'), track(at(2), 'Email Opened')];
    expect(levelAt(t + 3 * DAY, events)).toBe('hot');
  });

  it('a lead idle for 4 days is at most hot, whatever its score says', () => {
    const m = withPointRule(false);
    const r = score(m, pointsAt(200, (i) => at(0) + i * MIN), at(0) + 200 * MIN + 4 * DAY).types[0];
    expect(r.engagementScore).toBe(200);
    expect(r.level).toBe('hot');
  });

  it('the level never falls at an event: a cold-score activity after steps down keeps the stepped level', () => {
    const r = run([...demo, page(at(5), '/blog/x')], at(5));
    expect(r.level).toBe('hot');
  });

  it('a new activity lifts back to the score tier or floor', () => {
    expect(run([...demo, form(at(5), 'contact_sales')], at(5)).level).toBe('very_hot');
  });

  it('reports the next instant the level changes by itself', () => {
    const r = run(demo, t);
    expect(r.nextLevelChangeAt).toBe(t + 3 * DAY);
    expect(r.nextChangeAt).toBe(t + 3 * DAY);
    const late = run(demo, t + 54 * DAY);
    expect(late.nextLevelChangeAt).toBeNull();
    // cold now; the 60-day inactivity penalty is still to come.
    expect(late.nextChangeAt).toBe(t + 60 * DAY);
  });

  it('the history records each step with its reason', () => {
    const r = run(demo, t + 60 * DAY);
    expect(r.history.map((c) => `${c.from}>${c.to}@${(c.at - t) / DAY}`)).toEqual([
      'cold>very_hot@0',
      'very_hot>hot@3',
      'hot>engaged@10',
      'engaged>warm@24',
      'warm>cold@54',
    ]);
    expect(r.history[1].reason).toMatchObject({ kind: 'ladder', from: 'very_hot' });
  });
});

describe('suppression', () => {
  it('unsubscribe: cold at once and do-not-contact, whatever comes later', () => {
    const r = run([form(at(0), 'demo_request'), track(at(1), 'Unsubscribed'), form(at(2), 'contact_sales')]);
    expect(r.level).toBe('cold');
    expect(r.doNotContact).toBe(true);
    expect(r.reason).toMatchObject({ kind: 'suppressed', event: 'Unsubscribed' });
  });

  it('a hard bounce suppresses; a soft one does not', () => {
    expect(run([form(at(0), 'demo_request'), track(at(1), 'Email Bounced', { type: 'hard' })])).toMatchObject({ level: 'cold', doNotContact: true });
    expect(run([form(at(0), 'demo_request'), track(at(1), 'Email Bounced', { type: 'soft' })])).toMatchObject({ level: 'very_hot', doNotContact: false });
  });
});

describe('momentum, diversity, duplicates, time', () => {
  it('momentum is the engagement change over 7 days; diversity counts distinct signals in the window', () => {
    const r = run([page(at(0), '/'), page(at(8), '/pricing'), track(at(8), 'Email Link Clicked')], at(8, 12));
    expect(r.engagementScore).toBe(17);
    expect(r.momentum).toBe(15);
    expect(r.diversity).toBe(3);
    expect(r.signals).toEqual(['email_click', 'homepage_visit', 'pricing_visit']);
  });

  it('a duplicate messageId counts once; events after now are not scored', () => {
    const e = page(at(0), '/pricing', 'dup-1');
    const report = score(model, [e, { ...e }, page(at(5), '/', 'later')], at(1));
    expect(report.types[0].leadScore).toBe(10);
    expect(report.duplicates).toBe(1);
    expect(report.skippedFuture).toBe(1);
  });

  it('arrival order does not matter', () => {
    const events = [page(at(0), '/'), form(at(3), 'demo_request'), page(at(1), '/pricing'), track(at(2), 'Email Opened')];
    const a = score(model, events, at(20)).types[0];
    const b = score(model, [...events].reverse(), at(20)).types[0];
    expect(b).toEqual(a);
  });

  it('a model with a time zone counts caps per local day', () => {
    const berlin = compileModel({ ...b2bDefault, timeZone: 'Europe/Berlin' });
    // 23:30 UTC on 2 March is 00:30 on 3 March in Berlin; so is 08:00 UTC on 3 March.
    const events = [page(Date.UTC(2026, 2, 2, 23, 30), '/'), page(Date.UTC(2026, 2, 3, 8), '/')];
    expect(score(berlin, events, Date.UTC(2026, 2, 4)).types[0].leadScore).toBe(2);
    expect(score(model, events, Date.UTC(2026, 2, 4)).types[0].leadScore).toBe(4);
  });
});

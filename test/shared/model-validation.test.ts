import { describe, expect, it } from 'vitest';
import { compileModel, ModelError, validateModel } from '../../shared/compile.js';
import { b2bDefault, B2B_ENGAGEMENT } from '../../shared/models/b2b-default.js';
import { b2bThreeTier } from '../../shared/models/b2b-three-tier.js';
import type { Model, ScoringType } from '../../shared/model.js';
import { score } from '../../shared/score.js';
import { at, form, page, track } from '../helpers/events.js';

const withType = (patch: Partial<ScoringType>, extra: Partial<Model> = {}): Model => ({ ...b2bDefault, ...extra, scoringTypes: [{ ...B2B_ENGAGEMENT, ...patch }] });
const problems = (m: Model) => validateModel(m).map((p) => `${p.path}: ${p.reason}`);

describe('model validation', () => {
  it('accepts the shipped models', () => {
    expect(validateModel(b2bDefault)).toEqual([]);
    expect(validateModel(b2bThreeTier)).toEqual([]);
  });

  it('a floor naming an unknown level', () => {
    const m = withType({ floors: [{ id: 'x', level: 'scorching', match: { event: 'Webinar Attended' } }] });
    expect(problems(m)).toEqual(['scoringTypes[engagement].floors[x].level: no tier "scorching" (tiers: cold, warm, engaged, hot, very_hot)']);
  });

  it('overlapping, gapped and unordered thresholds', () => {
    const tiers = (t: ScoringType['tiers']) => problems(withType({ tiers: t, floors: [], ladder: {}, stages: [] }));
    expect(tiers([{ id: 'cold', min: 0, max: 40 }, { id: 'warm', min: 31 }])).toEqual(['scoringTypes[engagement].tiers[cold].max: 40 overlaps warm, which starts at 31']);
    expect(tiers([{ id: 'cold', min: 0, max: 20 }, { id: 'warm', min: 31 }])).toEqual(['scoringTypes[engagement].tiers[cold].max: leaves a gap: warm starts at 31, so max must be 30']);
    expect(tiers([{ id: 'cold', min: 0 }, { id: 'hot', min: 50 }, { id: 'warm', min: 31 }])).toEqual(['scoringTypes[engagement].tiers[warm].min: thresholds must increase: 31 is not above hot\'s 50']);
    expect(tiers([{ id: 'cold', min: 5 }])).toEqual(['scoringTypes[engagement].tiers[cold].min: the first tier must start at 0 (got 5)']);
  });

  it('a negative cap', () => {
    const m = withType({ rules: [{ id: 'r', match: { type: 'page' }, points: 1, caps: { perDay: -1 } }] });
    expect(problems(m)).toEqual(['scoringTypes[engagement].rules[r].caps.perDay: must be a whole number ≥ 0 (got -1)']);
  });

  it('a rule matching no event', () => {
    const rule = (match: object) => problems(withType({ rules: [{ id: 'r', match, points: 1 }] }));
    expect(rule({ event: 'Demo Requestd' })).toEqual(['scoringTypes[engagement].rules[r].match.event: matches no event: "Demo Requestd" is neither a canonical event nor listed in customEvents']);
    expect(rule({})).toEqual(['scoringTypes[engagement].rules[r].match: matches no event: name an event or a type (page, track, identify)']);
    expect(rule({ event: 'Email Opened', formKind: 'demo_request' })).toEqual(['scoringTypes[engagement].rules[r].match.formKind: matches no event: only Form Submitted carries a form kind']);
    expect(rule({ type: 'page', event: 'Email Opened' })).toEqual(['scoringTypes[engagement].rules[r].match.event: matches no event: page calls have no event name']);
    expect(rule({ event: 'Form Submitted', formKind: 'demo' })[0]).toMatch(/"demo" is not a form kind/);
    expect(problems({ ...withType({ rules: [{ id: 'r', match: { event: 'Trial Started' }, points: 5 }] }), customEvents: ['Trial Started'] })).toEqual([]);
  });

  it('dwell rules need a cap; ladders, surge, penalties, zone and ids are checked', () => {
    expect(problems(withType({ rules: [{ id: 'd', match: { event: 'Page Engaged', minSeconds: 60 }, points: 5 }] }))[0]).toMatch(/rules\[d\]\.caps: matches Page Engaged/);
    expect(problems(withType({ ladder: { cold: 3 } }))).toEqual(['scoringTypes[engagement].ladder.cold: the lowest tier has nowhere to drop to']);
    expect(problems(withType({ ladder: { boiling: 3 } }))[0]).toMatch(/ladder\.boiling: no tier "boiling"/);
    expect(problems(withType({ surge: { points: 0, days: 7 } }))).toEqual(['scoringTypes[engagement].surge.points: must be points > 0']);
    expect(problems(withType({ inactivity: [{ afterDays: 30, points: 10 }] }))).toEqual(['scoringTypes[engagement].inactivity[0].points: an inactivity penalty must be negative points']);
    expect(problems({ ...b2bDefault, timeZone: 'Mars/Olympus' })).toEqual(['timeZone: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin)']);
    expect(problems(withType({ rules: [...B2B_ENGAGEMENT.rules, { ...B2B_ENGAGEMENT.rules[0] }] }))[0]).toMatch(/"homepage_visit" is used twice/);
    expect(problems({ id: 'x', scoringTypes: [] })).toEqual(['scoringTypes: needs at least one scoring type']);
  });

  it('reports every problem at once, and compileModel throws them', () => {
    const m = withType({ rules: [{ id: 'a', match: { event: 'Nope' }, points: 0, caps: { perLead: -2 } }], floors: [{ id: 'f', level: 'x' }] });
    expect(problems(m)).toHaveLength(5);
    expect(() => compileModel(m)).toThrow(ModelError);
  });
});

describe('several scoring types with stages', () => {
  const model = compileModel({
    id: 'multi',
    scoringTypes: [
      B2B_ENGAGEMENT,
      {
        id: 'returning',
        name: 'Returning customers',
        rules: [
          { id: 'docs', match: { type: 'page', path: '/docs/**' }, points: 10 },
          { id: 'expansion', match: { event: 'Form Submitted', formKind: 'contact_sales' }, points: 30 },
        ],
        tiers: [
          { id: 'quiet', min: 0 },
          { id: 'active', min: 20 },
        ],
        stages: [
          { id: 'customer', name: 'Customer' },
          { id: 'expansion_lead', name: 'Expansion lead', minLeadScore: 40 },
          { id: 'expansion_qualified', name: 'Expansion qualified', minLeadScore: 40, minLevel: 'active' },
        ],
      },
    ],
  });

  it('each type has its own score, level and stage; stages never go back', () => {
    const events = [page(at(0), '/docs/api'), form(at(0, 10), 'contact_sales')];
    const [eng, ret] = score(model, events, at(200)).types;
    expect(eng.leadScore).toBe(0); // 26 points, −30 for 90 idle days, clamped
    expect(ret).toMatchObject({ scoringType: 'returning', leadScore: 40, stage: 'expansion_qualified', stageName: 'Expansion qualified' });
    // 200 days later the window is empty, but with no ladder a level only rises; the stage stays too.
    expect(ret).toMatchObject({ engagementScore: 0, level: 'active' });
    expect(eng.level).toBe('cold');
  });

  it('the three-tier preset lifts a demo request to hot and uses its own thresholds', () => {
    const three = compileModel(b2bThreeTier);
    expect(score(three, [form(at(0), 'demo_request')], at(0)).types[0].level).toBe('hot');
    // One pricing page a day: no session floor, no surge below 40.
    const pricing = (days: number) => Array.from({ length: days }, (_, d) => page(at(d), '/pricing'));
    expect(score(three, pricing(1), at(1)).types[0]).toMatchObject({ engagementScore: 10, level: 'cold' });
    expect(score(three, pricing(2), at(2)).types[0]).toMatchObject({ engagementScore: 20, level: 'warm' });
    expect(score(three, pricing(5), at(5)).types[0]).toMatchObject({ engagementScore: 50, level: 'hot' });
    expect(score(three, [track(at(0), 'Webinar Attended')], at(0)).types[0].level).toBe('warm');
  });
});

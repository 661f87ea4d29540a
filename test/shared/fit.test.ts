/**
 * Fit: the model's fit section validated with a problem per mistake, `scoreFit` as a pure function of traits,
 * and the engine's fold keeping the latest traits (identify, context.traits, the account's) so reads and
 * stages see the same grade.
 */
import { describe, expect, it } from 'vitest';
import { compileModel, validateModel } from '../../shared/compile.js';
import { compileFit, numberOf, scoreFit } from '../../shared/fit.js';
import type { FitSection, Model } from '../../shared/model.js';
import { B2B_ENGAGEMENT, B2B_FIT, b2bDefault } from '../../shared/models/b2b-default.js';
import { score } from '../../shared/score.js';
import { Scorer, MemoryLog } from '../../shared/scorer.js';
import type { JsonObject, LeadEvent } from '../../shared/events.js';
import { at, form, page } from '../helpers/events.js';

const fit = compileFit(B2B_FIT);
const grade = (traits: JsonObject, account?: JsonObject) => scoreFit(fit, traits, account);

let n = 0;
const identify = (t: number, traits: JsonObject): LeadEvent => ({ messageId: `i${String(++n).padStart(5, '0')}`, type: 'identify', properties: {}, traits, timestamp: t });
const group = (t: number, groupId: string, traits: JsonObject): LeadEvent => ({ messageId: `g${String(++n).padStart(5, '0')}`, type: 'group', properties: { groupId, traits }, timestamp: t });

describe('the default fit', () => {
  it('grades a VP at a 200-person software company A, with a reason per rule that gave points', () => {
    const r = grade({ title: 'VP Marketing', company: { employee_count: 250, industry: 'Software' }, address: { country: 'Germany' } });
    expect(r.grade).toBe('A');
    expect(r.score).toBe(70);
    expect(r.reasons).toEqual([
      { trait: 'company.employee_count', value: 250, points: 20, label: '200–999 employees' },
      { trait: 'company.industry', value: 'Software', points: 20, label: 'Target industry' },
      { trait: 'title', value: 'VP Marketing', points: 20, label: 'Executive (C-level, VP or founder)' },
      { trait: 'address.country', value: 'Germany', points: 10, label: 'Core market' },
    ]);
    expect(r.missing).toEqual([]);
    expect(r.reasons.reduce((s, x) => s + x.points, 0)).toBe(r.score);
  });

  it('grades at the thresholds: A from 60, B from 40, C from 20, D below', () => {
    // 10 (50–199) + 20 (software) + 8 (manager) + 10 (US) = 48.
    expect(grade({ employees: 50, industry: 'saas', title: 'Marketing Manager', country: 'us' })).toMatchObject({ grade: 'B', score: 48 });
    expect(grade({ employees: 1000, industry: 'Software', title: 'Head of Growth' })).toMatchObject({ grade: 'A', score: 60 });
    expect(grade({ employees: 999, industry: 'Retail', title: 'Director of Ops' })).toMatchObject({ grade: 'B', score: 45 });
    expect(grade({ industry: 'Software' })).toMatchObject({ grade: 'C', score: 20 });
    expect(grade({ industry: 'Retail', country: 'Canada' })).toMatchObject({ grade: 'C', score: 20 });
    expect(grade({ industry: 'Retail' })).toMatchObject({ grade: 'D', score: 10 });
  });

  it('a lead with no traits is D with score 0, every trait it could give listed as missing', () => {
    expect(grade({})).toEqual({ grade: 'D', score: 0, reasons: [], missing: ['employees', 'industry', 'title', 'country'] });
    expect(grade({ title: 'CEO' }).missing).toEqual(['employees', 'industry', 'country']);
  });

  it('a title ladder counts its best step once (otherwise), and a disqualifier subtracts', () => {
    const r = grade({ title: 'Chief Marketing Officer & Head of Demand' });
    expect(r.reasons.map((x) => x.label)).toEqual(['Executive (C-level, VP or founder)']);
    expect(grade({ title: 'Director of Sales' }).reasons.map((x) => x.points)).toEqual([15]);
    expect(grade({ title: 'Marketing Intern', employees: 5 })).toMatchObject({ score: -30, grade: 'D' });
  });

  it('matches whole words, case-insensitively: "VP" is not inside "MVP Engineer"', () => {
    expect(grade({ title: 'svp, sales' }).score).toBe(20);
    expect(grade({ title: 'MVP Engineer' }).score).toBe(0);
    expect(grade({ title: 'Co-Founder' }).score).toBe(20);
  });

  it('company sizes given as text count by their first number', () => {
    expect(numberOf('201-500')).toBe(201);
    expect(numberOf('10,000+')).toBe(10000);
    expect(numberOf('about 50')).toBeUndefined();
    expect(grade({ company_size: '201-500' }).reasons[0]).toEqual({ trait: 'company_size', value: '201-500', points: 20, label: '200–999 employees' });
  });

  it('the lead’s own trait wins over its account’s; the account fills what the lead lacks', () => {
    const r = grade({ title: 'CTO', employees: 20 }, { employees: 5000, industry: 'Fintech' });
    expect(r.reasons).toEqual([
      { trait: 'industry', value: 'Fintech', points: 20, label: 'Target industry', source: 'account' },
      { trait: 'title', value: 'CTO', points: 20, label: 'Executive (C-level, VP or founder)' },
    ]);
  });
});

const bad = (f: unknown) => validateModel({ ...b2bDefault, fit: f as FitSection }).map((p) => `${p.path}: ${p.reason}`);
const rule = (r: object) => bad({ rules: [{ trait: 'employees', label: 'x', points: 5, ...r }], grades: { A: 60, B: 40, C: 20 } });

describe('fit validation', () => {
  it('accepts the default fit', () => {
    expect(validateModel(b2bDefault)).toEqual([]);
  });

  it('unknown keys, missing conditions, two conditions in one rule, empty ranges', () => {
    expect(bad({ rules: [{ trait: 'x', label: 'x', points: 1, exists: true }], grades: { A: 3, B: 2, C: 1 }, weights: {} })).toEqual(['fit.weights: unknown key (use rules, grades)']);
    expect(rule({ gte: 1, colour: 'red' })).toEqual(['fit.rules[0].colour: unknown key (use trait, label, points, gte, lte, in, matches, exists, otherwise)']);
    expect(rule({})).toEqual(['fit.rules[0]: needs a condition: gte and/or lte (a number), in (a list of values), matches (words) or exists']);
    expect(rule({ gte: 10, in: ['a'] })).toEqual(['fit.rules[0]: gives gte/lte and in: give one kind of condition per rule (split it into two rules)']);
    expect(rule({ gte: 500, lte: 200 })).toEqual(['fit.rules[0]: matches nothing: gte 500 is above lte 200']);
    expect(rule({ gte: '200' })).toEqual(['fit.rules[0].gte: must be a number (got "200")']);
    expect(rule({ in: [] })).toEqual(['fit.rules[0].in: must be a list of 1 to 200 values']);
    expect(rule({ points: 0, exists: true })).toEqual(['fit.rules[0].points: must be a non-zero number of points (got 0)']);
    expect(rule({ trait: '', exists: true })[0]).toMatch(/^fit\.rules\[0\]\.trait: must name a trait/);
    expect(rule({ label: undefined, exists: true })[0]).toMatch(/^fit\.rules\[0\]\.label: must be a non-empty text/);
    expect(rule({ exists: true, otherwise: true })).toEqual(['fit.rules[0].otherwise: no earlier rule reads the same trait, so there is nothing for it to be the otherwise of']);
    expect(bad({ grades: { A: 3, B: 2, C: 1 } })[0]).toMatch(/^fit\.rules: needs at least one rule/);
    expect(bad('A')).toEqual(['fit: must be an object: { "rules": [...], "grades": { "A": 60, "B": 40, "C": 20 } }']);
  });

  it('matches takes plain words, never a regular expression', () => {
    expect(rule({ matches: 'VP|Head of|C-level|R&D' })).toEqual([]);
    expect(rule({ matches: '(a+)+$' })).toEqual(['fit.rules[0].matches: "(a+)+$" has "(": matches takes plain words (letters, digits, spaces, & . \' / + -) separated by |, not a regular expression']);
    expect(rule({ matches: 'VP||Head' })).toEqual(['fit.rules[0].matches: has an empty word (two | in a row, or one at an end)']);
    expect(rule({ matches: 'a.*b' })[0]).toMatch(/has "\*"/);
    expect(rule({ matches: 42 })).toEqual(['fit.rules[0].matches: must be words separated by |, or a list of words (e.g. "VP|Head|Chief|Director")']);
  });

  it('grades: A, B and C, descending; D has no threshold', () => {
    const rules = [{ trait: 'x', label: 'x', points: 1, exists: true }];
    expect(bad({ rules, grades: { A: 40, B: 40, C: 20 } })).toEqual(['fit.grades.B: grades must descend: B (40) is not below A (40)']);
    expect(bad({ rules, grades: { A: 60, B: 20, C: 40 } })).toEqual(['fit.grades.C: grades must descend: C (40) is not below B (20)']);
    expect(bad({ rules, grades: { A: 60, B: 40, C: 20, D: 0 } })).toEqual(['fit.grades.D: D has no threshold: it is every score below C; remove it']);
    expect(bad({ rules, grades: { A: 60, B: 40 } })).toEqual(['fit.grades.C: is missing: give the lowest fit score of each grade A, B and C']);
    expect(bad({ rules, grades: { A: 60, B: 40, C: 20, E: 1 } })).toEqual(['fit.grades.E: unknown grade (A, B, C; D is every score below C)']);
    expect(bad({ rules, grades: { A: 'high', B: 40, C: 20 } })).toEqual(['fit.grades.A: must be a number (got "high")']);
  });

  it('a stage may require a fit grade, only from a model with a fit section', () => {
    const stages = [{ id: 'sales_ready', minLevel: 'hot', minFit: 'B' as const }];
    expect(validateModel({ ...b2bDefault, scoringTypes: [{ ...B2B_ENGAGEMENT, stages }] })).toEqual([]);
    const { fit: _, ...noFit } = b2bDefault;
    expect(validateModel({ ...noFit, scoringTypes: [{ ...B2B_ENGAGEMENT, stages }] }).map((p) => p.path + ': ' + p.reason)).toEqual([
      "scoringTypes[engagement].stages[sales_ready].minFit: needs the model's fit section (fit: { rules, grades }) to grade leads by",
    ]);
    expect(validateModel({ ...b2bDefault, scoringTypes: [{ ...B2B_ENGAGEMENT, stages: [{ id: 's', minFit: 'AA' as never }] }] })[0].reason).toBe('"AA" is not a fit grade (A, B, C, D)');
  });
});

describe('fit in the engine', () => {
  const model = compileModel(b2bDefault);
  const fitAt = (events: LeadEvent[]) => score(model, events, at(5)).types[0].fit!;

  it('keeps the latest value of each trait in time order, from identify, context.traits and the account', () => {
    const events = [
      identify(at(0), { title: 'Marketing Manager', employees: 60 }),
      // context.traits on a page view: the engine sees them as the event's traits.
      { ...page(at(1), '/'), traits: { industry: 'Software' } },
      group(at(2), 'acme', { employees: 400, country: 'US' }),
    ];
    expect(fitAt(events)).toMatchObject({ grade: 'B', score: 48 });
    // A promotion moves the grade; a later call for another account replaces the account.
    expect(fitAt([...events, identify(at(3), { title: 'VP Marketing' })])).toMatchObject({ grade: 'A', score: 60 });
    expect(fitAt([...events, group(at(3), 'tiny', { employees: 3 })]).reasons.map((r) => r.trait)).toEqual(['employees', 'industry', 'title']);
    // A trait set to null is cleared.
    expect(fitAt([...events, identify(at(3), { industry: null })]).score).toBe(28);
    // An older value arriving late does not win over a newer one.
    expect(fitAt([...events, identify(at(0, 8), { title: 'Intern' })]).score).toBe(48);
  });

  it('the incremental scorer gives the same fit as a full recomputation when traits come late', () => {
    const events = [page(at(0), '/'), identify(at(1), { title: 'CEO', employees: 300, industry: 'SaaS' }), page(at(2), '/pricing'), identify(at(0, 12), { title: 'Student' })];
    const scorer = new Scorer(model, new MemoryLog());
    for (const e of events) scorer.add(e);
    expect(scorer.evaluate(at(5))[0].fit).toEqual(fitAt(events));
    expect(fitAt(events)).toMatchObject({ grade: 'A', score: 60 });
  });

  it('a sales-ready stage needs both fit and engagement, whichever comes last', () => {
    const withStage = compileModel({ ...b2bDefault, scoringTypes: [{ ...B2B_ENGAGEMENT, stages: [{ id: 'sales_ready', name: 'Sales ready', minLevel: 'hot', minFit: 'B' }] }] } as Model);
    const stage = (events: LeadEvent[]) => score(withStage, events, at(5)).types[0].stage;
    const good = identify(at(0), { title: 'VP Sales', employees: 250, industry: 'Software' });
    const demo = form(at(1), 'demo_request');
    expect(stage([demo])).toBeNull();
    expect(stage([good])).toBeNull();
    expect(stage([demo, { ...good, timestamp: at(2) }])).toBe('sales_ready');
    expect(stage([good, demo])).toBe('sales_ready');
    expect(stage([identify(at(0), { title: 'Intern' }), demo])).toBeNull();
  });

  it('a model without a fit section gives no fit', () => {
    const { fit: _, ...noFit } = b2bDefault;
    expect(score(compileModel(noFit), [identify(at(0), { title: 'CEO' })], at(1)).types[0].fit).toBeNull();
    // A file extending the default turns it off with null.
    expect(validateModel({ ...b2bDefault, fit: null })).toEqual([]);
    expect(compileModel({ ...b2bDefault, fit: null }).fit).toBeNull();
  });
});

/**
 * Fit: how well a lead matches the ideal customer profile, from its traits (company size, industry, role,
 * country) — the other half of "sales-ready needs fit and engagement" (seed 000). The model's `fit` section is
 * validated and compiled here; `scoreFit` is a pure function of (compiled fit, traits); the engine keeps the few
 * trait values the rules read (`FitState`) as it folds events, so a stage may require a grade and a backtest
 * or a rescore gives the same fit as the live lead.
 */
import type { JsonObject, LeadEvent } from './events.js';
import type { FitGrade, FitRule, FitSection } from './model.js';
import type { Problem } from './validate.js';

export const FIT_GRADES: readonly FitGrade[] = ['A', 'B', 'C', 'D'];
/** A model's fit section stays small: it is read at every identify, and shown rule by rule. */
export const MAX_FIT_RULES = 100;
const MAX_VALUES = 200;
const MAX_WORDS = 50;
const MAX_TEXT = 100;
/** A trait value kept for fit, as text, is cut here: rules compare words and short codes, not essays. */
const MAX_KEPT_TEXT = 200;

/** The values a fit rule can test. */
export type FitValue = string | number | boolean;

export interface FitReason {
  /** The trait name the value was found under (the first of the rule's names the lead has). */
  trait: string;
  /** Null for an `exists: false` rule: the lead has no such trait. */
  value: FitValue | null;
  points: number;
  label: string;
  /** Set when the value is the account's (its latest `group` call), not the lead's own. */
  source?: 'account';
}

export interface FitResult {
  grade: FitGrade;
  score: number;
  /** The rules that gave points, in the model's order. Their points add up to the score. */
  reasons: FitReason[];
  /** Traits the rules read that the lead has not given (a D may be "unknown" rather than "poor"). */
  missing: string[];
}

export interface CompiledFitRule {
  index: number;
  traits: string[];
  /** Rules on the same traits share a key: `otherwise` looks back along it. */
  key: string;
  label: string;
  points: number;
  otherwise: boolean;
  test: (v: FitValue | undefined) => boolean;
}

export interface CompiledFit {
  rules: CompiledFitRule[];
  grades: { A: number; B: number; C: number };
  /** Every trait name the rules read: what the engine keeps of a lead's traits. */
  traits: string[];
}

/** The trait values the engine keeps for fit, as of the last event folded. */
export interface FitState {
  lead: Record<string, FitValue>;
  /** The latest account (Segment group) the lead was tied to, and its traits. */
  account: { id: string; traits: Record<string, FitValue> } | null;
  /** The grade for these values (index into FIT_GRADES), kept so stage checks need not rescore. */
  rank: number;
}

const RULE_KEYS = ['trait', 'label', 'points', 'gte', 'lte', 'in', 'matches', 'exists', 'otherwise'] as const;
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.trim() !== '' && v.length <= max;
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 40);

/**
 * Words a `matches` condition may use: letters, digits, spaces and a little punctuation that appears in job
 * titles and industry names ("C-level", "Sr.", "R&D", "Co-Founder"). No regular-expression syntax at all, so a
 * model file cannot make matching slow; the words are escaped into a pattern of plain alternatives.
 */
const WORD = /^[\p{L}\p{N} &.'/+-]+$/u;

export const wordsOf = (m: string | string[]): string[] =>
  asList(m)
    .flatMap((s) => String(s).split('|'))
    .map((w) => w.trim());

/** A text value's number: "250" is 250, "201-500" is 201, "10,000+" is 10000; other text has none. */
export function numberOf(v: FitValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d[\d,]*(?:\.\d+)?)\s*(?:[-–+]|to\b|$)/.exec(v);
  return m ? Number(m[1].replace(/,/g, '')) : undefined;
}

/** Checks a model's `fit` section; every problem, with where it is and what to do. */
export function checkFit(fit: unknown, at: string, problems: Problem[]): void {
  if (typeof fit !== 'object' || fit === null || Array.isArray(fit)) {
    problems.push({ path: at, reason: 'must be an object: { "rules": [...], "grades": { "A": 60, "B": 40, "C": 20 } }' });
    return;
  }
  const f = fit as Partial<FitSection> & Record<string, unknown>;
  for (const k of Object.keys(f)) if (k !== 'rules' && k !== 'grades') problems.push({ path: `${at}.${k}`, reason: 'unknown key (use rules, grades)' });
  if (!Array.isArray(f.rules) || f.rules.length === 0) {
    problems.push({ path: `${at}.rules`, reason: 'needs at least one rule, e.g. { "trait": "employees", "gte": 200, "points": 20, "label": "200+ employees" }' });
  } else if (f.rules.length > MAX_FIT_RULES) {
    problems.push({ path: `${at}.rules`, reason: `has ${f.rules.length} rules; at most ${MAX_FIT_RULES}` });
  } else {
    const seen = new Set<string>();
    f.rules.forEach((r, i) => {
      checkRule(r, `${at}.rules[${i}]`, problems);
      const key = ruleKey(r);
      if (key && r.otherwise === true && !seen.has(key)) problems.push({ path: `${at}.rules[${i}].otherwise`, reason: 'no earlier rule reads the same trait, so there is nothing for it to be the otherwise of' });
      if (key) seen.add(key);
    });
  }
  checkGrades(f.grades, `${at}.grades`, problems);
}

function ruleKey(r: unknown): string | undefined {
  const t = (r as FitRule | undefined)?.trait;
  const names = asList(t);
  return names.length && names.every((n) => typeof n === 'string') ? [...names].sort().join('\n') : undefined;
}

function checkRule(rule: unknown, at: string, problems: Problem[]): void {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
    problems.push({ path: at, reason: 'must be a rule object: { "trait", "label", "points" and one condition (gte/lte, in, matches or exists) }' });
    return;
  }
  const r = rule as Partial<FitRule> & Record<string, unknown>;
  for (const k of Object.keys(r)) if (!(RULE_KEYS as readonly string[]).includes(k)) problems.push({ path: `${at}.${k}`, reason: `unknown key (use ${RULE_KEYS.join(', ')})` });
  const names = asList(r.trait as unknown);
  if (names.length === 0 || !names.every((n) => isText(n))) {
    problems.push({ path: `${at}.trait`, reason: `must name a trait, or several: a non-empty string of at most ${MAX_TEXT} characters, or a list of them` });
  }
  if (!isText(r.label)) problems.push({ path: `${at}.label`, reason: `must be a non-empty text of at most ${MAX_TEXT} characters, shown with the points (e.g. "200+ employees")` });
  if (!isNumber(r.points) || r.points === 0) problems.push({ path: `${at}.points`, reason: `must be a non-zero number of points (got ${show(r.points)})` });
  if (r.otherwise !== undefined && typeof r.otherwise !== 'boolean') problems.push({ path: `${at}.otherwise`, reason: 'must be true or false' });
  const kinds = [r.gte !== undefined || r.lte !== undefined ? 'gte/lte' : null, r.in !== undefined ? 'in' : null, r.matches !== undefined ? 'matches' : null, r.exists !== undefined ? 'exists' : null].filter(Boolean);
  if (kinds.length === 0) {
    problems.push({ path: at, reason: 'needs a condition: gte and/or lte (a number), in (a list of values), matches (words) or exists' });
    return;
  }
  if (kinds.length > 1) problems.push({ path: at, reason: `gives ${kinds.join(' and ')}: give one kind of condition per rule (split it into two rules)` });
  for (const k of ['gte', 'lte'] as const) if (r[k] !== undefined && !isNumber(r[k])) problems.push({ path: `${at}.${k}`, reason: `must be a number (got ${show(r[k])})` });
  if (isNumber(r.gte) && isNumber(r.lte) && r.gte > r.lte) problems.push({ path: at, reason: `matches nothing: gte ${r.gte} is above lte ${r.lte}` });
  if (r.in !== undefined) {
    if (!Array.isArray(r.in) || r.in.length === 0 || r.in.length > MAX_VALUES) {
      problems.push({ path: `${at}.in`, reason: `must be a list of 1 to ${MAX_VALUES} values` });
    } else {
      r.in.forEach((v, j) => {
        if (!isNumber(v) && !isText(v)) problems.push({ path: `${at}.in[${j}]`, reason: `must be a number or a non-empty text of at most ${MAX_TEXT} characters (got ${show(v)})` });
      });
    }
  }
  if (r.matches !== undefined) {
    const given = asList(r.matches as unknown);
    if (given.length === 0 || !given.every((m) => typeof m === 'string')) {
      problems.push({ path: `${at}.matches`, reason: 'must be words separated by |, or a list of words (e.g. "VP|Head|Chief|Director")' });
    } else {
      const words = wordsOf(given as string[]);
      if (words.length > MAX_WORDS) problems.push({ path: `${at}.matches`, reason: `has ${words.length} words; at most ${MAX_WORDS}` });
      for (const w of words) {
        if (w === '') problems.push({ path: `${at}.matches`, reason: 'has an empty word (two | in a row, or one at an end)' });
        else if (w.length > MAX_TEXT) problems.push({ path: `${at}.matches`, reason: `"${w.slice(0, 40)}…" is longer than ${MAX_TEXT} characters` });
        else if (!WORD.test(w)) {
          const bad = [...w].find((ch) => !WORD.test(ch));
          problems.push({ path: `${at}.matches`, reason: `"${w.slice(0, 40)}" has "${bad}": matches takes plain words (letters, digits, spaces, & . ' / + -) separated by |, not a regular expression` });
        }
      }
    }
  }
  if (r.exists !== undefined && typeof r.exists !== 'boolean') problems.push({ path: `${at}.exists`, reason: 'must be true or false' });
}

function checkGrades(grades: unknown, at: string, problems: Problem[]): void {
  if (typeof grades !== 'object' || grades === null || Array.isArray(grades)) {
    problems.push({ path: at, reason: 'must give the lowest score of grades A, B and C, descending: { "A": 60, "B": 40, "C": 20 } (D is every score below C)' });
    return;
  }
  const g = grades as Record<string, unknown>;
  for (const k of Object.keys(g)) {
    if (k === 'D') problems.push({ path: `${at}.D`, reason: 'D has no threshold: it is every score below C; remove it' });
    else if (!['A', 'B', 'C'].includes(k)) problems.push({ path: `${at}.${k}`, reason: 'unknown grade (A, B, C; D is every score below C)' });
  }
  let above: [string, number] | undefined;
  for (const k of ['A', 'B', 'C'] as const) {
    const v = g[k];
    if (v === undefined) problems.push({ path: `${at}.${k}`, reason: 'is missing: give the lowest fit score of each grade A, B and C' });
    else if (!isNumber(v)) problems.push({ path: `${at}.${k}`, reason: `must be a number (got ${show(v)})` });
    else {
      if (above && !(v < above[1])) problems.push({ path: `${at}.${k}`, reason: `grades must descend: ${k} (${v}) is not below ${above[0]} (${above[1]})` });
      above = [k, v];
    }
  }
}

function compileTest(r: FitRule): (v: FitValue | undefined) => boolean {
  if (r.exists !== undefined) return (v) => (v !== undefined) === r.exists;
  if (r.in !== undefined) {
    const texts = new Set(r.in.filter((x): x is string => typeof x === 'string').map((x) => x.trim().toLowerCase()));
    const numbers = new Set(r.in.filter((x): x is number => typeof x === 'number'));
    // "250" given as text is the number 250; "201-500" is only the text it is.
    const asNumber = (t: string) => (/^-?\d+(?:\.\d+)?$/.test(t) ? Number(t) : NaN);
    return (v) => (typeof v === 'string' ? texts.has(v.trim().toLowerCase()) || numbers.has(asNumber(v.trim())) : typeof v === 'number' && (numbers.has(v) || texts.has(String(v))));
  }
  if (r.matches !== undefined) {
    // Escaped plain alternatives between non-word boundaries: no quantifier a model could nest.
    const alternatives = wordsOf(r.matches).map((w) => w.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'));
    const re = new RegExp(`(?:^|[^\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'iu');
    return (v) => typeof v === 'string' && re.test(v);
  }
  const { gte, lte } = r;
  return (v) => {
    const n = numberOf(v);
    return n !== undefined && (gte === undefined || n >= gte) && (lte === undefined || n <= lte);
  };
}

/** Compiles a fit section that `checkFit` passed. */
export function compileFit(fit: FitSection): CompiledFit {
  const rules = fit.rules.map((r, index) => {
    const traits = asList(r.trait);
    return { index, traits, key: [...traits].sort().join('\n'), label: r.label, points: r.points, otherwise: r.otherwise ?? false, test: compileTest(r) };
  });
  return { rules, grades: { A: fit.grades.A, B: fit.grades.B, C: fit.grades.C }, traits: [...new Set(rules.flatMap((r) => r.traits))] };
}

/** A trait as given, by name: the name as a key, else a dotted path into object traits (`address.country`). */
function raw(traits: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(traits, name)) return traits[name];
  let v: unknown = traits;
  for (const part of name.split('.')) v = v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, part) ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/** What a fit rule can test of a value: a number, a boolean, or a non-empty text (cut to MAX_KEPT_TEXT). */
function scalar(v: unknown): FitValue | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.slice(0, MAX_KEPT_TEXT);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  return typeof v === 'boolean' ? v : undefined;
}

const lookUp = (traits: Readonly<Record<string, unknown>> | undefined, name: string) => (traits ? scalar(raw(traits, name)) : undefined);

export const gradeOf = (fit: CompiledFit, score: number): FitGrade => (score >= fit.grades.A ? 'A' : score >= fit.grades.B ? 'B' : score >= fit.grades.C ? 'C' : 'D');

/**
 * The fit of a lead with these traits, and of its account. Pure: the same traits always give the same
 * grade. Every rule whose condition holds gives its points, except an `otherwise` rule after one on the same
 * traits that did; a lead with no traits scores 0, grade D, with every trait listed as missing.
 */
export function scoreFit(fit: CompiledFit, traits: Readonly<Record<string, unknown>> | undefined, account?: Readonly<Record<string, unknown>> | null): FitResult {
  const reasons: FitReason[] = [];
  const gave = new Set<string>();
  let score = 0;
  const found = new Map<string, { trait: string; value: FitValue; source?: 'account' } | null>();
  const valueFor = (r: CompiledFitRule) => {
    if (!found.has(r.key)) {
      let hit: { trait: string; value: FitValue; source?: 'account' } | null = null;
      for (const t of r.traits) {
        const own = lookUp(traits, t);
        if (own !== undefined) {
          hit = { trait: t, value: own };
          break;
        }
      }
      for (const t of hit ? [] : r.traits) {
        const acc = lookUp(account ?? undefined, t);
        if (acc !== undefined) {
          hit = { trait: t, value: acc, source: 'account' };
          break;
        }
      }
      found.set(r.key, hit);
    }
    return found.get(r.key)!;
  };
  for (const r of fit.rules) {
    if (r.otherwise && gave.has(r.key)) continue;
    const hit = valueFor(r);
    if (!r.test(hit?.value)) continue;
    gave.add(r.key);
    score += r.points;
    // An `exists: false` rule has no value to show: the trait is named, the value is null in JSON.
    const reason: FitReason = { trait: hit?.trait ?? r.traits[0], value: hit?.value ?? null, points: r.points, label: r.label };
    if (hit?.source) reason.source = hit.source;
    reasons.push(reason);
  }
  const missing = [...new Set(fit.rules.filter((r) => valueFor(r) === null).map((r) => r.traits[0]))];
  return { grade: gradeOf(fit, score), score, reasons, missing };
}

export const emptyFitState = (): FitState => ({ lead: {}, account: null, rank: FIT_GRADES.length - 1 });

export const cloneFitState = (s: FitState): FitState => ({ lead: { ...s.lead }, account: s.account && { id: s.account.id, traits: { ...s.account.traits } }, rank: s.rank });

/**
 * Takes the values the rules read from one call's traits, as scalars. A trait the call gives replaces the one
 * kept, as the profile's latest value does: given as null, empty or an object a rule cannot test, it clears
 * it; a dotted name is given when its first part is (`company` replaces `company.employee_count`).
 */
function pick(fit: CompiledFit, from: JsonObject, into: Record<string, FitValue>): boolean {
  let changed = false;
  for (const name of fit.traits) {
    if (!Object.hasOwn(from, name) && !Object.hasOwn(from, name.split('.')[0])) continue;
    const v = scalar(raw(from, name));
    if (v === undefined) {
      if (!Object.hasOwn(into, name)) continue;
      delete into[name];
    } else if (into[name] === v) continue;
    else into[name] = v;
    changed = true;
  }
  return changed;
}

/**
 * Folds one event's traits into the fit state (mutating it): an identify's traits or `context.traits` for
 * the lead, a `group` call's traits for its account (a call for another account replaces it: the latest wins).
 * Events come in time order, so the latest value of each trait is the one kept. Returns whether anything changed.
 */
export function noteFitTraits(fit: CompiledFit, s: FitState, e: LeadEvent): boolean {
  let changed = e.traits ? pick(fit, e.traits, s.lead) : false;
  const groupId = e.type === 'group' ? e.properties.groupId : undefined;
  if (typeof groupId === 'string') {
    const given = e.properties.traits;
    const traits = given && typeof given === 'object' && !Array.isArray(given) ? (given as JsonObject) : {};
    if (!s.account || s.account.id !== groupId) {
      s.account = { id: groupId, traits: {} };
      changed = true;
    }
    changed = pick(fit, traits, s.account.traits) || changed;
  }
  if (changed) regrade(fit, s);
  return changed;
}

/** Sets the state's grade for its values under this fit (after a change of values, or of model). */
export function regrade(fit: CompiledFit, s: FitState): void {
  s.rank = FIT_GRADES.indexOf(scoreFit(fit, s.lead, s.account?.traits).grade);
}

/** The fit a state's values give (reads, the index). */
export const fitOfState = (fit: CompiledFit, s: FitState | undefined): FitResult => scoreFit(fit, s?.lead, s?.account?.traits);

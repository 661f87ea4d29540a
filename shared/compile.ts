/**
 * Model validation and compilation. Every mistake is reported with where it is and what to do, so a model
 * that loads is one the engine can run: no floor names an unknown level, tiers are ordered, caps are sane,
 * every rule can match some event.
 */
import { FORM_KINDS, KNOWN_EVENTS, KNOWN_FORM_KINDS as KINDS } from './events.js';
import { SESSION_GAP_MS, DAY_MS } from './limits.js';
import { checkFit, compileFit, FIT_GRADES, type CompiledFit } from './fit.js';
import { DELIVERED, honeypotMatcher, type CompiledHolding } from './holding.js';
import { compileMatch, pathMatcher, type Matcher } from './match.js';
import type { Caps, Holding, Match, Model, ScoringType } from './model.js';
import { stableHash } from './normalize.js';
import { dayClock, isTimeZone, type DayClock } from './time.js';
import { formatProblems, type Problem } from './validate.js';

export interface CompiledRule {
  index: number;
  id: string;
  name: string;
  points: number;
  caps: Caps;
  otherwise: boolean;
  activity: boolean;
  group: number;
  matches: Matcher;
}

export interface CompiledFloor {
  id: string;
  name: string;
  level: number;
  matches?: Matcher;
  session?: { distinctPages: number; path?: (p: string | undefined) => boolean };
}

export interface CompiledStage {
  id: string;
  name: string;
  minLeadScore: number;
  minEngagementScore: number;
  minLevel: number;
  /** The worst fit grade the stage allows, as an index into FIT_GRADES (3, D, when it names none). */
  minFit: number;
}

export interface CompiledType {
  index: number;
  id: string;
  name: string;
  rules: CompiledRule[];
  groupCaps: number[];
  groupIds: string[];
  dailyPointsCap: number;
  windowDays: number;
  inactivity: { afterMs: number; afterDays: number; points: number }[];
  absence: { id: string; name: string; matches: Matcher; ms: number; days: number; points: number }[];
  tierIds: string[];
  tierNames: string[];
  tierMins: number[];
  floors: CompiledFloor[];
  surge: { points: number; days: number } | null;
  /** Idle time before dropping one tier, by tier index; Infinity where there is no step. */
  ladderMs: number[];
  suppress: Matcher[];
  stages: CompiledStage[];
  /** Days of history the compact state keeps for the window and surge. */
  keepDays: number;
}

export interface CompiledModel {
  id: string;
  name: string;
  version: number;
  /** A hash of the model as written: any change makes every lead rescore from its history. */
  fingerprint: string;
  timeZone: string;
  sessionMs: number;
  days: DayClock;
  types: CompiledType[];
  /** The model's fit section, or null when it has none (leads then have no fit). */
  fit: CompiledFit | null;
  holding: CompiledHolding;
  source: Model;
}

export class ModelError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`invalid scoring model: ${formatProblems(problems)}`);
    this.name = 'ModelError';
  }
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Checks a match and reports why it could never match anything. */
function checkMatch(m: Match | undefined, at: string, custom: Set<string>, problems: Problem[]): void {
  if (!m || typeof m !== 'object') {
    problems.push({ path: at, reason: 'needs a match object (event, type, path, formKind, …)' });
    return;
  }
  const keys = ['type', 'event', 'path', 'formKind', 'minSeconds', 'properties'] as const;
  for (const k of Object.keys(m)) {
    if (!(keys as readonly string[]).includes(k)) problems.push({ path: `${at}.${k}`, reason: `unknown condition (use ${keys.join(', ')})` });
  }
  if (!m.type && m.event === undefined) {
    problems.push({ path: at, reason: 'matches no event: name an event or a type (page, track, identify)' });
    return;
  }
  if (m.type && !['page', 'track', 'identify'].includes(m.type)) {
    problems.push({ path: `${at}.type`, reason: `"${m.type}" is not page, track or identify` });
  }
  const events = asList(m.event);
  if (m.event !== undefined && m.type && m.type !== 'track') {
    problems.push({ path: `${at}.event`, reason: `matches no event: ${m.type} calls have no event name` });
  }
  for (const ev of events) {
    if (typeof ev !== 'string' || (!KNOWN_EVENTS.has(ev) && !custom.has(ev))) {
      problems.push({
        path: `${at}.event`,
        reason: `matches no event: "${ev}" is neither a canonical event nor listed in customEvents`,
      });
    }
  }
  const onlyCanonical = events.length > 0 && events.every((e) => KNOWN_EVENTS.has(e));
  if (m.formKind !== undefined) {
    for (const k of asList(m.formKind)) {
      if (!KINDS.has(k)) problems.push({ path: `${at}.formKind`, reason: `"${k}" is not a form kind (${FORM_KINDS.join(', ')})` });
    }
    if (m.type === 'page' || (onlyCanonical && !events.includes('Form Submitted'))) {
      problems.push({ path: `${at}.formKind`, reason: 'matches no event: only Form Submitted carries a form kind' });
    }
  }
  if (m.minSeconds !== undefined) {
    if (typeof m.minSeconds !== 'number' || !(m.minSeconds >= 0)) problems.push({ path: `${at}.minSeconds`, reason: 'must be a number ≥ 0' });
    if (m.type === 'page' || (onlyCanonical && !events.includes('Page Engaged'))) {
      problems.push({ path: `${at}.minSeconds`, reason: 'matches no event: only Page Engaged carries seconds' });
    }
  }
  if (m.path !== undefined) {
    for (const p of asList(m.path)) {
      if (typeof p !== 'string' || !p.startsWith('/')) problems.push({ path: `${at}.path`, reason: `"${p}" is not a path pattern (starts with /)` });
    }
    if (m.type === 'identify') problems.push({ path: `${at}.path`, reason: 'matches no event: identify calls have no page path' });
  }
  if (m.properties !== undefined && (typeof m.properties !== 'object' || m.properties === null || Array.isArray(m.properties))) {
    problems.push({ path: `${at}.properties`, reason: 'must be an object of property conditions' });
  }
}

function checkCaps(caps: Caps | undefined, at: string, problems: Problem[]): void {
  if (caps === undefined) return;
  if (caps.perDay !== undefined && !isCount(caps.perDay)) problems.push({ path: `${at}.perDay`, reason: `must be a whole number ≥ 0 (got ${caps.perDay})` });
  if (caps.perLead !== undefined && !isCount(caps.perLead)) problems.push({ path: `${at}.perLead`, reason: `must be a whole number ≥ 0 (got ${caps.perLead})` });
  if (caps.perWindow !== undefined) {
    const w = caps.perWindow;
    if (!w || !isPositive(w.days) || !Number.isInteger(w.days)) problems.push({ path: `${at}.perWindow.days`, reason: 'must be a whole number of days ≥ 1' });
    if (!w || !isCount(w.count)) problems.push({ path: `${at}.perWindow.count`, reason: `must be a whole number ≥ 0 (got ${w?.count})` });
  }
}

function uniqueIds(items: { id?: unknown }[], at: string, problems: Problem[]): void {
  const seen = new Set<unknown>();
  items.forEach((it, i) => {
    if (typeof it?.id !== 'string' || it.id === '') problems.push({ path: `${at}[${i}].id`, reason: 'needs a non-empty string id' });
    else if (seen.has(it.id)) problems.push({ path: `${at}[${i}].id`, reason: `"${it.id}" is used twice` });
    seen.add(it?.id);
  });
}

function checkType(t: ScoringType, at: string, custom: Set<string>, hasFit: boolean, problems: Problem[]): void {
  if (!Array.isArray(t.tiers) || t.tiers.length === 0) {
    problems.push({ path: `${at}.tiers`, reason: 'needs at least one tier (e.g. cold from 0)' });
    return;
  }
  uniqueIds(t.tiers, `${at}.tiers`, problems);
  const tierIds = new Set(t.tiers.map((x) => x.id));
  t.tiers.forEach((tier, i) => {
    const tp = `${at}.tiers[${tier.id ?? i}]`;
    if (typeof tier.min !== 'number' || !Number.isFinite(tier.min)) problems.push({ path: `${tp}.min`, reason: 'must be a number' });
    if (i === 0 && tier.min !== 0) problems.push({ path: `${tp}.min`, reason: `the first tier must start at 0 (got ${tier.min})` });
    const next = t.tiers[i + 1];
    if (next && !(next.min > tier.min)) {
      problems.push({ path: `${at}.tiers[${next.id ?? i + 1}].min`, reason: `thresholds must increase: ${next.min} is not above ${tier.id}'s ${tier.min}` });
    }
    if (tier.max !== undefined) {
      if (!next) problems.push({ path: `${tp}.max`, reason: 'the top tier is open-ended; remove max' });
      else if (tier.max >= next.min) problems.push({ path: `${tp}.max`, reason: `${tier.max} overlaps ${next.id}, which starts at ${next.min}` });
      else if (tier.max !== next.min - 1) problems.push({ path: `${tp}.max`, reason: `leaves a gap: ${next.id} starts at ${next.min}, so max must be ${next.min - 1}` });
      else if (tier.max < tier.min) problems.push({ path: `${tp}.max`, reason: `is below the tier's min ${tier.min}` });
    }
  });
  if (!Array.isArray(t.rules)) {
    problems.push({ path: `${at}.rules`, reason: 'must be an array of rules' });
  } else {
    uniqueIds(t.rules, `${at}.rules`, problems);
    const groups = new Set((t.groups ?? []).map((g) => g.id));
    t.rules.forEach((r, i) => {
      const rp = `${at}.rules[${r?.id ?? i}]`;
      if (typeof r?.points !== 'number' || !Number.isFinite(r.points) || r.points === 0) {
        problems.push({ path: `${rp}.points`, reason: 'must be a non-zero number of points' });
      }
      checkMatch(r?.match, `${rp}.match`, custom, problems);
      checkCaps(r?.caps, `${rp}.caps`, problems);
      if (r?.group !== undefined && !groups.has(r.group)) problems.push({ path: `${rp}.group`, reason: `no group "${r.group}" in groups` });
      const evs = asList(r?.match?.event);
      const c = r?.caps;
      if (evs.includes('Page Engaged') && !(c && (c.perDay !== undefined || c.perLead !== undefined || c.perWindow !== undefined))) {
        problems.push({
          path: `${rp}.caps`,
          reason: 'matches Page Engaged, which the SDK re-sends as a visit goes on; give it a cap (perDay, perWindow or perLead) so one visit scores once',
        });
      }
    });
  }
  uniqueIds(t.groups ?? [], `${at}.groups`, problems);
  (t.groups ?? []).forEach((g, i) => {
    if (!isPositive(g.perDay) && g.perDay !== 0) problems.push({ path: `${at}.groups[${g.id ?? i}].perDay`, reason: `must be a number of points ≥ 0 (got ${g.perDay})` });
  });
  if (t.dailyPointsCap !== undefined && !(typeof t.dailyPointsCap === 'number' && t.dailyPointsCap >= 0)) {
    problems.push({ path: `${at}.dailyPointsCap`, reason: `must be a number of points ≥ 0 (got ${t.dailyPointsCap})` });
  }
  if (t.windowDays !== undefined && !(isPositive(t.windowDays) && Number.isInteger(t.windowDays))) {
    problems.push({ path: `${at}.windowDays`, reason: 'must be a whole number of days ≥ 1' });
  }
  let lastAfter = 0;
  (t.inactivity ?? []).forEach((p, i) => {
    const pp = `${at}.inactivity[${i}]`;
    if (!isPositive(p.afterDays) || p.afterDays <= lastAfter) problems.push({ path: `${pp}.afterDays`, reason: 'must be days > 0, increasing from one penalty to the next' });
    if (typeof p.points !== 'number' || !(p.points < 0)) problems.push({ path: `${pp}.points`, reason: 'an inactivity penalty must be negative points' });
    lastAfter = p.afterDays;
  });
  uniqueIds(t.absence ?? [], `${at}.absence`, problems);
  (t.absence ?? []).forEach((a, i) => {
    const ap = `${at}.absence[${a.id ?? i}]`;
    checkMatch(a.match, `${ap}.match`, custom, problems);
    if (!isPositive(a.days)) problems.push({ path: `${ap}.days`, reason: 'must be days > 0' });
    if (typeof a.points !== 'number' || !Number.isFinite(a.points) || a.points === 0) problems.push({ path: `${ap}.points`, reason: 'must be a non-zero number of points' });
  });
  uniqueIds(t.floors ?? [], `${at}.floors`, problems);
  (t.floors ?? []).forEach((f, i) => {
    const fp = `${at}.floors[${f.id ?? i}]`;
    if (!tierIds.has(f.level)) problems.push({ path: `${fp}.level`, reason: `no tier "${f.level}" (tiers: ${[...tierIds].join(', ')})` });
    if (!f.match && !f.session) problems.push({ path: fp, reason: 'needs a match or a session condition' });
    if (f.match) checkMatch(f.match, `${fp}.match`, custom, problems);
    if (f.session && !(Number.isInteger(f.session.distinctPages) && f.session.distinctPages >= 1)) {
      problems.push({ path: `${fp}.session.distinctPages`, reason: 'must be a whole number ≥ 1' });
    }
  });
  if (t.surge) {
    if (!isPositive(t.surge.points)) problems.push({ path: `${at}.surge.points`, reason: 'must be points > 0' });
    if (!(isPositive(t.surge.days) && Number.isInteger(t.surge.days))) problems.push({ path: `${at}.surge.days`, reason: 'must be a whole number of days ≥ 1' });
  }
  for (const [tier, days] of Object.entries(t.ladder ?? {})) {
    if (!tierIds.has(tier)) problems.push({ path: `${at}.ladder.${tier}`, reason: `no tier "${tier}" (tiers: ${[...tierIds].join(', ')})` });
    else if (tier === t.tiers[0].id) problems.push({ path: `${at}.ladder.${tier}`, reason: 'the lowest tier has nowhere to drop to' });
    if (!isPositive(days)) problems.push({ path: `${at}.ladder.${tier}`, reason: `must be idle days > 0 (got ${days})` });
  }
  (t.suppress ?? []).forEach((m, i) => checkMatch(m, `${at}.suppress[${i}]`, custom, problems));
  uniqueIds(t.stages ?? [], `${at}.stages`, problems);
  (t.stages ?? []).forEach((s, i) => {
    if (s.minLevel !== undefined && !tierIds.has(s.minLevel)) problems.push({ path: `${at}.stages[${s.id ?? i}].minLevel`, reason: `no tier "${s.minLevel}"` });
    if (s.minFit !== undefined) {
      if (!FIT_GRADES.includes(s.minFit)) problems.push({ path: `${at}.stages[${s.id ?? i}].minFit`, reason: `"${String(s.minFit).slice(0, 20)}" is not a fit grade (${FIT_GRADES.join(', ')})` });
      else if (!hasFit) problems.push({ path: `${at}.stages[${s.id ?? i}].minFit`, reason: 'needs the model\'s fit section (fit: { rules, grades }) to grade leads by' });
    }
  });
}

/** What `holding` falls back to, key by key (the default model spells them out). */
export const HOLDING_DEFAULTS = {
  enabled: true,
  crawlers: true,
  afterDeliverySeconds: 10,
  burst: { clicks: 3, seconds: 1 },
  honeypot: [] as string[],
  releaseOn: [{ type: 'page' }, { event: 'Form Submitted' }] as Match[],
} satisfies Required<Holding>;

/** Scanners open and click within seconds; a window this long would hold people's opens too. */
const MAX_DELIVERY_SECONDS = 600;
const MAX_BURST_SECONDS = 60;
/** What a scanner does as well as a person: it cannot show that a person is there. */
const SCANNER_EVENTS = ['Email Opened', 'Email Link Clicked', DELIVERED];

function checkHolding(h: Holding | undefined, custom: Set<string>, problems: Problem[]): void {
  if (h === undefined) return;
  if (!h || typeof h !== 'object' || Array.isArray(h)) {
    problems.push({ path: 'holding', reason: 'must be an object ({ crawlers, afterDeliverySeconds, burst, honeypot, releaseOn })' });
    return;
  }
  for (const k of Object.keys(h)) {
    if (!Object.hasOwn(HOLDING_DEFAULTS, k)) problems.push({ path: `holding.${k}`, reason: `unknown setting (use ${Object.keys(HOLDING_DEFAULTS).join(', ')})` });
  }
  for (const k of ['enabled', 'crawlers'] as const) {
    if (h[k] !== undefined && typeof h[k] !== 'boolean') problems.push({ path: `holding.${k}`, reason: `must be true or false (got ${JSON.stringify(h[k])})` });
  }
  const d = h.afterDeliverySeconds;
  if (d !== undefined && !(typeof d === 'number' && d >= 0 && d <= MAX_DELIVERY_SECONDS)) {
    problems.push({ path: 'holding.afterDeliverySeconds', reason: `must be seconds from 0 (off) to ${MAX_DELIVERY_SECONDS}: a longer window holds people's opens too (got ${JSON.stringify(d)})` });
  }
  const b = h.burst;
  if (b !== undefined && b !== null) {
    if (typeof b !== 'object' || Array.isArray(b)) problems.push({ path: 'holding.burst', reason: 'must be { clicks, seconds }, or null to turn it off' });
    else {
      if (!(Number.isInteger(b.clicks) && b.clicks >= 2)) problems.push({ path: 'holding.burst.clicks', reason: `must be a whole number ≥ 2: one click is no burst (got ${JSON.stringify(b.clicks)})` });
      if (!(isPositive(b.seconds) && b.seconds <= MAX_BURST_SECONDS)) problems.push({ path: 'holding.burst.seconds', reason: `must be seconds > 0, at most ${MAX_BURST_SECONDS} (got ${JSON.stringify(b.seconds)})` });
    }
  }
  if (h.honeypot !== undefined) {
    if (!Array.isArray(h.honeypot)) problems.push({ path: 'holding.honeypot', reason: 'must be a list of URL patterns (e.g. ["/ll-trap*"])' });
    else {
      h.honeypot.forEach((p, i) => {
        const at = `holding.honeypot[${i}]`;
        if (typeof p !== 'string' || !(p.startsWith('/') || /^https?:\/\//i.test(p))) problems.push({ path: at, reason: `${JSON.stringify(p)} is not a URL pattern: start it with / (a path) or http(s)://` });
        else if (/^(https?:\/\/)?[/*]*$/i.test(p)) problems.push({ path: at, reason: `"${p}" matches every link: it would hold every click` });
      });
    }
  }
  if (h.releaseOn !== undefined) {
    if (!Array.isArray(h.releaseOn)) problems.push({ path: 'holding.releaseOn', reason: 'must be a list of matches (e.g. [{ "type": "page" }])' });
    else {
      h.releaseOn.forEach((m, i) => {
        const at = `holding.releaseOn[${i}]`;
        checkMatch(m, at, custom, problems);
        const evs = m && typeof m === 'object' ? asList(m.event) : [];
        const scanner = evs.filter((e) => SCANNER_EVENTS.includes(e));
        if (scanner.length) problems.push({ path: `${at}.event`, reason: `${scanner.join(', ')}: a scanner does that too, so it cannot show a person (use page views or forms)` });
        else if (m && typeof m === 'object' && m.type === 'track' && m.event === undefined) problems.push({ path: at, reason: 'matches every track event, opens and clicks too, which scanners make: name the events' });
      });
    }
  }
}

function compileHolding(h: Holding = {}): CompiledHolding {
  const burst = h.burst === undefined ? HOLDING_DEFAULTS.burst : h.burst;
  return {
    enabled: h.enabled ?? HOLDING_DEFAULTS.enabled,
    crawlers: h.crawlers ?? HOLDING_DEFAULTS.crawlers,
    deliveryMs: (h.afterDeliverySeconds ?? HOLDING_DEFAULTS.afterDeliverySeconds) * 1000,
    burst: burst ? { clicks: burst.clicks, ms: burst.seconds * 1000 } : null,
    honeypot: honeypotMatcher(h.honeypot ?? HOLDING_DEFAULTS.honeypot),
    releaseOn: (h.releaseOn ?? HOLDING_DEFAULTS.releaseOn).map(compileMatch),
  };
}

/** Validates a model; throws a ModelError listing every problem. */
export function validateModel(model: Model): Problem[] {
  const problems: Problem[] = [];
  if (!model || typeof model !== 'object') return [{ path: 'model', reason: 'must be a JSON object' }];
  if (typeof model.id !== 'string' || model.id === '') problems.push({ path: 'id', reason: 'needs a non-empty string id' });
  if (model.timeZone !== undefined && (typeof model.timeZone !== 'string' || !isTimeZone(model.timeZone))) {
    problems.push({ path: 'timeZone', reason: `"${model.timeZone}" is not an IANA time zone (e.g. Europe/Berlin)` });
  }
  if (model.sessionMinutes !== undefined && !isPositive(model.sessionMinutes)) problems.push({ path: 'sessionMinutes', reason: 'must be minutes > 0' });
  if (model.version !== undefined && !(Number.isInteger(model.version) && model.version >= 1)) problems.push({ path: 'version', reason: 'must be a whole number ≥ 1' });
  const custom = new Set(Array.isArray(model.customEvents) ? model.customEvents : []);
  checkHolding(model.holding, custom, problems);
  if (!Array.isArray(model.scoringTypes) || model.scoringTypes.length === 0) {
    problems.push({ path: 'scoringTypes', reason: 'needs at least one scoring type' });
    return problems;
  }
  uniqueIds(model.scoringTypes, 'scoringTypes', problems);
  const hasFit = model.fit !== undefined && model.fit !== null;
  if (hasFit) checkFit(model.fit, 'fit', problems);
  model.scoringTypes.forEach((t, i) => checkType(t, `scoringTypes[${t?.id ?? i}]`, custom, hasFit, problems));
  return problems;
}

function compileType(t: ScoringType, index: number): CompiledType {
  const tierIds = t.tiers.map((x) => x.id);
  const tierIndex = (id: string) => tierIds.indexOf(id);
  const groupIds = (t.groups ?? []).map((g) => g.id);
  const windowDays = t.windowDays ?? 30;
  const surge = t.surge ? { points: t.surge.points, days: t.surge.days } : null;
  return {
    index,
    id: t.id,
    name: t.name ?? t.id,
    rules: t.rules.map((r, i) => ({
      index: i,
      id: r.id,
      name: r.name ?? r.id,
      points: r.points,
      caps: r.caps ?? {},
      otherwise: r.otherwise ?? false,
      activity: r.activity ?? true,
      group: r.group === undefined ? -1 : groupIds.indexOf(r.group),
      matches: compileMatch(r.match),
    })),
    groupCaps: (t.groups ?? []).map((g) => g.perDay),
    groupIds,
    dailyPointsCap: t.dailyPointsCap ?? Infinity,
    windowDays,
    inactivity: (t.inactivity ?? []).map((p) => ({ afterMs: p.afterDays * DAY_MS, afterDays: p.afterDays, points: p.points })),
    absence: (t.absence ?? []).map((a) => ({ id: a.id, name: a.name ?? a.id, matches: compileMatch(a.match), ms: a.days * DAY_MS, days: a.days, points: a.points })),
    tierIds,
    tierNames: t.tiers.map((x) => x.name ?? x.id),
    tierMins: t.tiers.map((x) => x.min),
    floors: (t.floors ?? []).map((f) => ({
      id: f.id,
      name: f.name ?? f.id,
      level: tierIndex(f.level),
      matches: f.match ? compileMatch(f.match) : undefined,
      session: f.session ? { distinctPages: f.session.distinctPages, path: pathMatcher(f.session.path) } : undefined,
    })),
    surge,
    ladderMs: tierIds.map((id) => (t.ladder?.[id] !== undefined ? t.ladder[id] * DAY_MS : Infinity)),
    suppress: (t.suppress ?? []).map(compileMatch),
    stages: (t.stages ?? []).map((s) => ({
      id: s.id,
      name: s.name ?? s.id,
      minLeadScore: s.minLeadScore ?? -Infinity,
      minEngagementScore: s.minEngagementScore ?? -Infinity,
      minLevel: s.minLevel === undefined ? 0 : tierIndex(s.minLevel),
      minFit: s.minFit === undefined ? FIT_GRADES.length - 1 : FIT_GRADES.indexOf(s.minFit),
    })),
    keepDays: windowDays + (surge?.days ?? 7),
  };
}

/** Validates and compiles a model for the engine. Throws ModelError with every problem found. */
export function compileModel(model: Model): CompiledModel {
  const problems = validateModel(model);
  if (problems.length) throw new ModelError(problems);
  return {
    id: model.id,
    name: model.name ?? model.id,
    version: model.version ?? 1,
    fingerprint: stableHash(JSON.stringify(model)),
    timeZone: model.timeZone ?? 'UTC',
    sessionMs: model.sessionMinutes !== undefined ? model.sessionMinutes * 60_000 : SESSION_GAP_MS,
    days: dayClock(model.timeZone),
    types: model.scoringTypes.map(compileType),
    fit: model.fit ? compileFit(model.fit) : null,
    holding: compileHolding(model.holding),
    source: model,
  };
}

/**
 * Teams and routes (`leadlevel.teams.json`, or the file LEADLEVEL_TEAMS_FILE names when the Worker is built:
 * scripts/teams-module.js): who is told when a lead moves up into a level or stage. Checked
 * with the model and site files (worker/config.ts), since routes name the model's levels, stages and scoring
 * types; every matching route applies, and a team is told once per change however many routes name it.
 */
import configured, { file as configuredFile } from 'leadlevel-teams';
import type { CompiledModel } from '../../shared/compile.js';
import { formatProblems, type Problem } from '../../shared/validate.js';
import type { FitGrade } from '../../shared/model.js';
import { CLOCK, DEFAULT_BUSINESS_HOURS, slaDue, type BusinessHours, type SlaSpan } from '../../shared/business-time.js';

/** The teams file bundled into this Worker, as parsed JSON (validated before use), and its name. */
export const configuredTeams: unknown = configured;
export const TEAMS_FILE: string = configuredFile;

export type Destination = { type: 'webhook'; url: string } | { type: 'slack'; url: string } | { type: 'email'; to: string[] };

export interface Team {
  id: string;
  name: string;
  destinations: Destination[];
  /** The team told when this team's response SLA is breached. */
  escalateTo?: string;
  /** IANA zone for business hours (SLA); UTC when absent. */
  timeZone?: string;
  /** When the team works, for SLAs counted in business time; 09:00–17:00 Monday to Friday when absent. */
  businessHours?: BusinessHours;
}

export type RouteFit = FitGrade | 'none';

export interface RouteWhen {
  level?: string | string[];
  fit?: RouteFit | RouteFit[];
  stage?: string | string[];
  /** The scoring type the level or stage belongs to; the model's first when absent. */
  scoringType?: string;
}

export interface Route {
  when: RouteWhen;
  team: string;
}

export interface TeamsConfig {
  teams: Team[];
  routes: Route[];
  /**
   * The response SLA of each level (a level id → a span, or null for none). A level not named here takes the
   * default: Very Hot 4 h, Hot 24 h, Engaged 3 business days, Warm 5 business days (SPEC), others none.
   */
  sla?: Record<string, SlaSpan | null>;
  /** Alerts on the insights (worker/insights-alert.ts). */
  alerts?: Alerts;
}

export interface Alerts {
  /**
   * A week-over-week fall of the engagement index by `threshold` or more (0.1: ten points of the share), overall
   * or in a group `by` source (or medium, campaign, referrer) with at least `minLeads` leads, tells `team`.
   */
  engagementIndexDrop?: { threshold: number; team: string; by?: 'source' | 'medium' | 'campaign' | 'referrer'; minLeads?: number };
}

/** SPEC's response SLAs, for the levels a teams file does not name. */
export const DEFAULT_SLA: Readonly<Record<string, SlaSpan>> = { very_hot: { hours: 4 }, hot: { hours: 24 }, engaged: { businessDays: 3 }, warm: { businessDays: 5 } };
/** Longest SLA a file may set: a year. */
const MAX_SLA = { hours: 8_784, businessHours: 8_784, businessDays: 366 } as const;

/** What the routes are checked against: the model's scoring types, their levels and stages. */
export interface ModelShape {
  types: { id: string; tierIds: string[]; stages: { id: string }[] }[];
}

export const shapeOf = (m: CompiledModel): ModelShape => ({ types: m.types.map((t) => ({ id: t.id, tierIds: t.tierIds, stages: t.stages })) });

/** Fit grades a route may name; `none` is a lead without a fit grade (no fit section, or no traits yet). */
const GRADES = ['A', 'B', 'C', 'D', 'none'];
const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 60) ?? String(v);

function httpUrl(url: unknown): string | null {
  if (typeof url !== 'string') return 'must be a string, an http(s) URL';
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${show(url)} is not an http(s) URL`;
    if (u.username || u.password) return `${show(url)} carries credentials; put them in a secret, not in the teams file`;
    return null;
  } catch {
    return `${show(url)} is not a URL`;
  }
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Every problem of a teams file (as parsed JSON); `model`: what its routes may name (unchecked without one). */
export function validateTeams(raw: unknown, model?: ModelShape): Problem[] {
  if (!isObject(raw)) return [{ path: '(file)', reason: `must be a JSON object with teams and routes (got ${show(raw)})` }];
  const problems: Problem[] = [];
  const { teams, routes } = raw;
  for (const k of Object.keys(raw)) if (!['teams', 'routes', 'sla', 'alerts', '$comment'].includes(k)) problems.push({ path: k, reason: 'is not a field of a teams file (teams, routes, sla, alerts)' });
  problems.push(...validateSla(raw.sla, model));
  if (!Array.isArray(teams)) return [...problems, { path: 'teams', reason: 'must be a list of { id, name, destinations }' }];
  if (routes !== undefined && !Array.isArray(routes)) return [...problems, { path: 'routes', reason: 'must be a list of { when, team }' }];
  const ids = new Set<string>();
  teams.forEach((t, i) => {
    const at = `teams[${i}]`;
    if (!isObject(t)) return problems.push({ path: at, reason: 'must be an object { id, name, destinations }' });
    for (const k of Object.keys(t)) if (!['id', 'name', 'destinations', 'escalateTo', 'timeZone', 'businessHours', '$comment'].includes(k)) problems.push({ path: `${at}.${k}`, reason: 'is not a field of a team (id, name, destinations, escalateTo, timeZone, businessHours)' });
    if (t.businessHours !== undefined) problems.push(...validateBusinessHours(t.businessHours, `${at}.businessHours`));
    if (typeof t.id !== 'string' || !ID.test(t.id)) problems.push({ path: `${at}.id`, reason: `must be a short id: lower-case letters, digits, - and _ (got ${show(t.id)})` });
    else if (ids.has(t.id)) problems.push({ path: `${at}.id`, reason: `"${t.id}" is the id of an earlier team too` });
    else ids.add(t.id);
    if (typeof t.name !== 'string' || !t.name.trim()) problems.push({ path: `${at}.name`, reason: 'must be a name people read' });
    if (t.timeZone !== undefined && (typeof t.timeZone !== 'string' || !validZone(t.timeZone))) problems.push({ path: `${at}.timeZone`, reason: `${show(t.timeZone)} is not an IANA time zone (like "Europe/Berlin")` });
    if (!Array.isArray(t.destinations)) return problems.push({ path: `${at}.destinations`, reason: 'must be a list (webhook, slack or email destinations)' });
    t.destinations.forEach((d, j) => {
      const dat = `${at}.destinations[${j}]`;
      if (!isObject(d)) return problems.push({ path: dat, reason: 'must be { "type": "webhook" | "slack", "url" } or { "type": "email", "to": [...] }' });
      if (d.type === 'webhook' || d.type === 'slack') {
        const bad = httpUrl(d.url);
        if (bad) problems.push({ path: `${dat}.url`, reason: bad });
        for (const k of Object.keys(d)) if (!['type', 'url'].includes(k)) problems.push({ path: `${dat}.${k}`, reason: `is not a field of a ${d.type} destination (type, url)` });
      } else if (d.type === 'email') {
        if (!Array.isArray(d.to) || !d.to.length) problems.push({ path: `${dat}.to`, reason: 'must be a list of one or more email addresses' });
        else d.to.forEach((a, k) => typeof a === 'string' && EMAIL.test(a) ? undefined : problems.push({ path: `${dat}.to[${k}]`, reason: `${show(a)} is not an email address` }));
        for (const k of Object.keys(d)) if (!['type', 'to'].includes(k)) problems.push({ path: `${dat}.${k}`, reason: 'is not a field of an email destination (type, to)' });
      } else problems.push({ path: `${dat}.type`, reason: `${show(d.type)} is not a destination type (webhook, slack, email)` });
    });
  });
  teams.forEach((t, i) => {
    if (isObject(t) && t.escalateTo !== undefined && (typeof t.escalateTo !== 'string' || !ids.has(t.escalateTo))) {
      problems.push({ path: `teams[${i}].escalateTo`, reason: `no team ${show(t.escalateTo)} (teams: ${[...ids].join(', ') || 'none'})` });
    }
  });
  problems.push(...validateAlerts(raw.alerts, ids));
  (routes ?? []).forEach((r: unknown, i: number) => {
    const at = `routes[${i}]`;
    if (!isObject(r) || !isObject(r.when)) return problems.push({ path: at, reason: 'must be { "when": { level?, fit?, stage?, scoringType? }, "team" }' });
    if (typeof r.team !== 'string' || !ids.has(r.team)) problems.push({ path: `${at}.team`, reason: `no team ${show(r.team)} (teams: ${[...ids].join(', ') || 'none'})` });
    const w = r.when;
    for (const k of Object.keys(w)) if (!['level', 'fit', 'stage', 'scoringType'].includes(k)) problems.push({ path: `${at}.when.${k}`, reason: 'is not a condition of a route (level, fit, stage, scoringType)' });
    // A route sends a lead that moves up into a level or a stage: one of the two says which.
    if (w.level === undefined && w.stage === undefined) problems.push({ path: `${at}.when`, reason: 'needs a level or a stage: what a lead moves into to be sent to the team' });
    const list = (v: unknown) => (Array.isArray(v) ? v : [v]);
    let type = model?.types[0];
    if (w.scoringType !== undefined) {
      type = model?.types.find((t) => t.id === w.scoringType);
      if (typeof w.scoringType !== 'string' || (model && !type)) problems.push({ path: `${at}.when.scoringType`, reason: `no scoring type ${show(w.scoringType)} in the model${model ? ` (${model.types.map((t) => t.id).join(', ')})` : ''}` });
    }
    if (w.level !== undefined) {
      for (const l of list(w.level)) {
        if (typeof l !== 'string') problems.push({ path: `${at}.when.level`, reason: 'is a level id or a list of them' });
        else if (type && !type.tierIds.includes(l)) problems.push({ path: `${at}.when.level`, reason: `no level "${l}" (levels: ${type.tierIds.join(', ')})` });
      }
    }
    if (w.stage !== undefined) {
      for (const s of list(w.stage)) {
        if (typeof s !== 'string') problems.push({ path: `${at}.when.stage`, reason: 'is a stage id or a list of them' });
        else if (type && !type.stages.some((x) => x.id === s)) problems.push({ path: `${at}.when.stage`, reason: `no stage "${s}" (stages: ${type.stages.map((x) => x.id).join(', ') || 'the model has none'})` });
      }
    }
    if (w.fit !== undefined) for (const g of list(w.fit)) if (!GRADES.includes(g as string)) problems.push({ path: `${at}.when.fit`, reason: `${show(g)} is not a fit grade (A, B, C, D, or none: no fit grade)` });
  });
  return problems;
}

const GROUPINGS = ['source', 'medium', 'campaign', 'referrer'];

function validateAlerts(alerts: unknown, teams: Set<string>): Problem[] {
  if (alerts === undefined) return [];
  if (!isObject(alerts)) return [{ path: 'alerts', reason: 'must be { "engagementIndexDrop": { "threshold": 0.1, "team": "marketing" } }' }];
  const problems: Problem[] = [];
  for (const k of Object.keys(alerts)) if (k !== 'engagementIndexDrop') problems.push({ path: `alerts.${k}`, reason: 'is not an alert (engagementIndexDrop)' });
  const a = alerts.engagementIndexDrop;
  if (a === undefined) return problems;
  const at = 'alerts.engagementIndexDrop';
  if (!isObject(a)) return [...problems, { path: at, reason: 'must be { "threshold": 0.1, "team": "marketing", "by"?: "source", "minLeads"?: 20 }' }];
  for (const k of Object.keys(a)) if (!['threshold', 'team', 'by', 'minLeads'].includes(k)) problems.push({ path: `${at}.${k}`, reason: 'is not a field of the alert (threshold, team, by, minLeads)' });
  if (typeof a.threshold !== 'number' || !(a.threshold > 0 && a.threshold <= 1)) problems.push({ path: `${at}.threshold`, reason: `must be a fall of the index's share above 0 and at most 1 (0.1: ten points; got ${show(a.threshold)})` });
  if (typeof a.team !== 'string' || !teams.has(a.team)) problems.push({ path: `${at}.team`, reason: `no team ${show(a.team)} (teams: ${[...teams].join(', ') || 'none'})` });
  if (a.by !== undefined && !GROUPINGS.includes(a.by as string)) problems.push({ path: `${at}.by`, reason: `must be one of ${GROUPINGS.join(', ')} (got ${show(a.by)})` });
  if (a.minLeads !== undefined && !(Number.isInteger(a.minLeads) && (a.minLeads as number) >= 1 && (a.minLeads as number) <= 1_000_000)) problems.push({ path: `${at}.minLeads`, reason: `must be a whole number of leads from 1 to 1,000,000 (got ${show(a.minLeads)})` });
  return problems;
}

function validateBusinessHours(h: unknown, at: string): Problem[] {
  if (!isObject(h)) return [{ path: at, reason: 'must be { "start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5] } (days: 1 Monday … 7 Sunday)' }];
  const problems: Problem[] = [];
  for (const k of Object.keys(h)) if (!['start', 'end', 'days'].includes(k)) problems.push({ path: `${at}.${k}`, reason: 'is not a field of business hours (start, end, days)' });
  for (const k of ['start', 'end'] as const) if (typeof h[k] !== 'string' || !CLOCK.test(h[k] as string)) problems.push({ path: `${at}.${k}`, reason: `must be a time of day "HH:MM", 24-hour (got ${show(h[k])})` });
  if (typeof h.start === 'string' && typeof h.end === 'string' && CLOCK.test(h.start) && CLOCK.test(h.end) && h.end <= h.start) problems.push({ path: `${at}.end`, reason: `must be after start (${h.start}) on the same day` });
  if (!Array.isArray(h.days) || !h.days.length) problems.push({ path: `${at}.days`, reason: 'must be a list of one or more ISO weekdays (1 Monday … 7 Sunday)' });
  else h.days.forEach((d, i) => (Number.isInteger(d) && (d as number) >= 1 && (d as number) <= 7 ? undefined : problems.push({ path: `${at}.days[${i}]`, reason: `${show(d)} is not an ISO weekday (1 Monday … 7 Sunday)` })));
  return problems;
}

function validateSla(sla: unknown, model?: ModelShape): Problem[] {
  if (sla === undefined) return [];
  if (!isObject(sla)) return [{ path: 'sla', reason: 'must map level ids to a span ({ "hours" }, { "businessHours" } or { "businessDays" }) or null for none' }];
  const problems: Problem[] = [];
  const levels = model && [...new Set(model.types.flatMap((t) => t.tierIds))];
  for (const [level, span] of Object.entries(sla)) {
    const at = `sla.${level}`;
    if (levels && !levels.includes(level)) problems.push({ path: at, reason: `no level "${level.slice(0, 40)}" (levels: ${levels.join(', ')})` });
    if (span === null) continue;
    const keys = isObject(span) ? Object.keys(span) : [];
    const unit = keys[0] as keyof typeof MAX_SLA | undefined;
    if (!isObject(span) || keys.length !== 1 || !unit || !(unit in MAX_SLA)) {
      problems.push({ path: at, reason: `must be one of { "hours": n }, { "businessHours": n }, { "businessDays": n }, or null for no SLA (got ${show(span)})` });
      continue;
    }
    const n = span[unit];
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > MAX_SLA[unit]) problems.push({ path: `${at}.${unit}`, reason: `must be a number above 0 and at most ${MAX_SLA[unit]} (got ${show(n)})` });
  }
  return problems;
}

export class TeamsConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`invalid ${TEAMS_FILE}: ${formatProblems(problems)}`);
  }
}

let loaded: TeamsConfig | undefined;
/** The teams this deployment runs (validated by worker/config.ts before anything is served). */
export function teamsConfig(): TeamsConfig {
  if (loaded) return loaded;
  const problems = validateTeams(configured);
  if (problems.length) throw new TeamsConfigError(problems);
  const { teams, routes = [], sla, alerts } = configured as unknown as Partial<TeamsConfig>;
  return (loaded = { teams: teams ?? [], routes, ...(sla ? { sla } : {}), ...(alerts ? { alerts } : {}) });
}

/** The response SLA a level has (the file's, else the default); null: none. */
export function slaSpanOf(level: string, cfg = teamsConfig()): SlaSpan | null {
  const own = cfg.sla?.[level];
  return own !== undefined ? own : DEFAULT_SLA[level] ?? null;
}

/** When a team's SLA for a level entered at `start` is due; null when the level has none. */
export function slaDueFor(team: Team, level: string, start: number, cfg = teamsConfig()): number | null {
  const span = slaSpanOf(level, cfg);
  return span ? slaDue(start, span, team.businessHours ?? DEFAULT_BUSINESS_HOURS, team.timeZone ?? 'UTC') : null;
}

export const teamById = (id: string, cfg = teamsConfig()): Team | undefined => cfg.teams.find((t) => t.id === id);

/** What a lead moved into: a level or a stage of a scoring type, with the lead's fit grade (null: no fit yet). */
export interface Move {
  kind: 'level' | 'stage';
  scoringType: string;
  /** The level or stage moved into. */
  to: string;
  /** The lead's level and stage in that scoring type, after the move. */
  level: string;
  stage: string | null;
  fit: FitGrade | null;
}

const has = <T>(cond: T | T[] | undefined, v: T | null) => cond === undefined || (v !== null && (Array.isArray(cond) ? cond.includes(v) : cond === v));

/**
 * The teams a move sends the lead to, each once, in the file's order of teams. A route applies when it names
 * what the lead moved into (a level route for a level move, a stage route for a stage move) and every other
 * condition holds for the lead now; a route with `fit` grades never matches a lead without a fit grade
 * unless it lists `none`.
 */
export function teamsFor(move: Move, primary: string, cfg = teamsConfig()): Team[] {
  const ids = new Set<string>();
  for (const r of cfg.routes) {
    const w = r.when;
    if ((w.scoringType ?? primary) !== move.scoringType) continue;
    if (move.kind === 'level' ? w.level === undefined : w.stage === undefined) continue;
    if (has(w.level, move.level) && has(w.stage, move.stage) && has<RouteFit>(w.fit, move.fit ?? 'none')) ids.add(r.team);
  }
  return cfg.teams.filter((t) => ids.has(t.id));
}

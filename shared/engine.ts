/**
 * The scoring engine: a pure, deterministic fold of time-ordered events into a compact state.
 *
 * `fold` takes one event (not earlier than the last one folded) and returns the points it earned and any level
 * change; `evaluate` reads scores, level and the next self-driven change at any later instant. The state keeps
 * only what the rules can still need — day buckets for the window and surge, today's cap counters, the current
 * session, the level and its timers — so its size, and the cost of a fold, do not grow with the event count.
 * `score` (full recomputation) and `Scorer` (incremental, with checkpoints for late events) are both built on it.
 */
import { eventPath, type LeadEvent } from './events.js';
import type { CompiledModel, CompiledType } from './compile.js';
import { cloneFitState, emptyFitState, fitOfState, FIT_GRADES, noteFitTraits, regrade, type FitResult, type FitState } from './fit.js';

export type LevelReason =
  | { kind: 'start' }
  | { kind: 'tier'; score: number }
  | { kind: 'floor'; floor: string; name: string; messageId: string }
  | { kind: 'surge'; gain: number; score: number }
  | { kind: 'ladder'; from: string; idleSince: number }
  | { kind: 'suppressed'; messageId: string; event: string };

export interface LevelChange {
  scoringType: string;
  from: string;
  to: string;
  at: number;
  reason: LevelReason;
}

export interface LedgerEntry {
  scoringType: string;
  kind: 'rule' | 'inactivity' | 'absence' | 'clamp';
  at: number;
  points: number;
  /** Which score the entry counts toward: both (rule points in the window), or the lead score only. */
  messageId?: string;
  rule?: string;
  ruleName?: string;
  /** The rule's points before caps. */
  base?: number;
  /** The cap that cut the points (`perDay`, `perWindow`, `perLead`, `group:<id>`, `dailyPointsCap`). */
  clippedBy?: string;
  /** Rule entries: still inside the engagement window at the time of reading. */
  inWindow?: boolean;
  /** Clamp entries: which score was clamped at 0. */
  score?: 'lead' | 'engagement';
  /** Inactivity and absence entries: the idle days that made them due. */
  days?: number;
  note?: string;
}

export interface TypeState {
  /** The scoring type's id, so a state can be matched to another model's types. */
  id: string;
  level: number;
  levelSince: number;
  reason: LevelReason;
  lastActivity: number | null;
  suppressed: boolean;
  stage: number;
  /** All-time points (rules, penalties), before the clamp at 0. */
  leadSum: number;
  /** Day buckets, ascending: day number, points, and the rules that gave positive points that day. */
  days: number[];
  pts: number[];
  kinds: number[][];
  /** Per-day cap counters, for `capDay` only. */
  capDay: number;
  /** For `capDay`: the window's running sum (unclamped), and the clamped engagement score `surge.days` ago. */
  winSum: number;
  surgeBase: number;
  dayCounts: Record<number, number>;
  groupPts: Record<number, number>;
  dayPts: number;
  leadCounts: Record<number, number>;
  /** Times of recent scoring events of rules with a perWindow cap (at most `count` each). */
  windowTimes: Record<number, number[]>;
  /** Idleness (inactivity penalties) counts from here; `penalties` applied so far in this idle spell. */
  idleRef: number;
  penalties: number;
  absence: { last: number; applied: boolean }[];
  /** Distinct matching paths in the current session, per floor with a session condition. */
  sessionPaths: string[][];
}

export interface LeadState {
  v: 1;
  model: string;
  version: number;
  /** Of the model's source: a state folded under another model is rescored, version bumped or not. */
  fingerprint: string;
  /** The (time, messageId) of the last event folded: events must come after it. */
  clock: number;
  lastId: string;
  firstSeen: number | null;
  sessionLast: number | null;
  types: TypeState[];
  /** The trait values the model's fit rules read (absent in states stored before fit existed). */
  fit?: FitState;
}

export interface FoldOutput {
  ledger: LedgerEntry[];
  changes: LevelChange[];
}

export interface TypeResult {
  scoringType: string;
  name: string;
  level: string;
  levelName: string;
  levelSince: number | null;
  reason: LevelReason;
  engagementScore: number;
  leadScore: number;
  /** Engagement score change over the surge period (7 days by default). */
  momentum: number;
  /** Distinct rules that gave positive points inside the window. */
  diversity: number;
  signals: string[];
  doNotContact: boolean;
  stage: string | null;
  stageName: string | null;
  lastActivityAt: number | null;
  /** The next instant the level drops by itself (ladder), or null. */
  nextLevelChangeAt: number | null;
  /** The next instant anything changes by itself (ladder, window expiry, penalty), or null. */
  nextChangeAt: number | null;
  /** The lead's fit (the same in every scoring type); null when the model has no fit section. */
  fit: FitResult | null;
}

export function initState(model: CompiledModel): LeadState {
  return {
    v: 1,
    model: model.id,
    version: model.version,
    fingerprint: model.fingerprint,
    clock: -Infinity,
    lastId: '',
    firstSeen: null,
    sessionLast: null,
    fit: emptyFitState(),
    types: model.types.map((t) => ({
      id: t.id,
      level: 0,
      levelSince: 0,
      reason: { kind: 'start' },
      lastActivity: null,
      suppressed: false,
      stage: -1,
      leadSum: 0,
      days: [],
      pts: [],
      kinds: [],
      capDay: -Infinity,
      winSum: 0,
      surgeBase: 0,
      dayCounts: {},
      groupPts: {},
      dayPts: 0,
      leadCounts: {},
      windowTimes: {},
      idleRef: 0,
      penalties: 0,
      absence: t.absence.map(() => ({ last: 0, applied: false })),
      sessionPaths: t.floors.map(() => []),
    })),
  };
}

/** A deep copy, cheap: the state is small by design. */
export function cloneState(s: LeadState): LeadState {
  return {
    ...s,
    fit: s.fit && cloneFitState(s.fit),
    types: s.types.map((t) => ({
      ...t,
      days: t.days.slice(),
      pts: t.pts.slice(),
      kinds: t.kinds.map((k) => k.slice()),
      dayCounts: { ...t.dayCounts },
      groupPts: { ...t.groupPts },
      leadCounts: { ...t.leadCounts },
      windowTimes: Object.fromEntries(Object.entries(t.windowTimes).map(([k, v]) => [k, v.slice()])),
      absence: t.absence.map((a) => ({ ...a })),
      sessionPaths: t.sessionPaths.map((p) => p.slice()),
    })),
  };
}

/**
 * The state as stored text. JSON has no ±Infinity: the engine uses -Infinity for "never" (the clock before the
 * first event, the cap day before the first fold), so those travel as null and come back as -Infinity.
 */
export function serializeState(s: LeadState): string {
  return JSON.stringify(s);
}

export function parseState(text: string): LeadState {
  return reviveState(JSON.parse(text) as LeadState);
}

/**
 * A state as JSON gave it back: the infinities JSON turned into null restored, and a field states stored
 * before no longer carry (`count`) dropped, so a stored state and a freshly folded one compare equal.
 */
export function reviveState(s: LeadState): LeadState {
  if (s.clock === null) s.clock = -Infinity;
  for (const t of s.types) if (t.capDay === null) t.capDay = -Infinity;
  delete (s as { count?: number }).count;
  return s;
}

/**
 * A fresh state for `model` that carries over what an earlier state (folded under another model) knew of
 * history whose raw events are gone: each scoring type of the same id keeps its all-time points, level,
 * timers and suppression (an unsubscribe stays an unsubscribe). What the new model would have given those
 * events cannot be known; the object's ledger says the points were carried over.
 */
export function rebaseState(model: CompiledModel, old: LeadState): LeadState {
  const s = initState(model);
  s.clock = old.clock;
  s.lastId = old.lastId;
  s.firstSeen = old.firstSeen;
  s.sessionLast = old.sessionLast;
  // The trait values the old model's fit read; the new model's grade of them (a trait only the new model reads
  // comes back when its events are refolded, not from history compacted before).
  if (old.fit) {
    s.fit = cloneFitState(old.fit);
    if (model.fit) regrade(model.fit, s.fit);
  }
  model.types.forEach((t, i) => {
    // States stored before types carried their id match by position.
    const o = old.types.find((x) => x.id === t.id) ?? (old.types[i]?.id === undefined ? old.types[i] : undefined);
    const ts = s.types[i];
    if (!o) return;
    ts.leadSum = o.leadSum;
    ts.suppressed = o.suppressed;
    ts.lastActivity = o.lastActivity;
    ts.idleRef = o.idleRef;
    ts.penalties = Math.min(o.penalties, t.inactivity.length);
    ts.levelSince = o.levelSince;
    ts.level = Math.min(o.level, t.tierIds.length - 1);
    ts.reason = o.reason;
    ts.stage = Math.min(o.stage, t.stages.length - 1);
    for (const a of ts.absence) a.last = old.clock;
  });
  return s;
}

/** Whether an event comes after everything folded so far, in the engine's order (time, then messageId). */
export function isInOrder(state: LeadState, e: Pick<LeadEvent, 'timestamp' | 'messageId'>): boolean {
  return e.timestamp > state.clock || (e.timestamp === state.clock && e.messageId > state.lastId);
}

export function compareEvents(a: LeadEvent, b: LeadEvent): number {
  return a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);
}

const tierOf = (t: CompiledType, score: number): number => {
  let i = 0;
  while (i + 1 < t.tierMins.length && score >= t.tierMins[i + 1]) i++;
  return i;
};

/** Sum of bucket points for days in [from, to]. */
function sumDays(ts: TypeState, from: number, to: number): number {
  let s = 0;
  for (let i = ts.days.length - 1; i >= 0 && ts.days[i] >= from; i--) if (ts.days[i] <= to) s += ts.pts[i];
  return s;
}

/** The engagement score on day `d` (the window ending that day), clamped at 0. */
function engagementOn(t: CompiledType, ts: TypeState, d: number): number {
  return Math.max(0, sumDays(ts, d - t.windowDays + 1, d));
}

const surgeDays = (t: CompiledType) => t.surge?.days ?? 7;

/** Drops buckets that neither the window nor the surge comparison can reach any more. */
function prune(t: CompiledType, ts: TypeState, d: number): void {
  const oldest = d - t.keepDays + 1;
  let n = 0;
  while (n < ts.days.length && ts.days[n] < oldest) n++;
  if (n) {
    ts.days.splice(0, n);
    ts.pts.splice(0, n);
    ts.kinds.splice(0, n);
  }
}

function ladderDue(t: CompiledType, ts: TypeState): number {
  if (ts.suppressed || ts.level === 0) return Infinity;
  return Math.max(ts.levelSince, ts.lastActivity ?? ts.levelSince) + t.ladderMs[ts.level];
}

/**
 * Brings one scoring type forward to instant `now` (inclusive): ladder steps, inactivity penalties and absence
 * rules that fall due on the way, in time order.
 */
/** When each self-driven change falls due next: a ladder step, an inactivity penalty, an absence rule. */
function dues(t: CompiledType, ts: TypeState): { ladder: number; pen: number; abs: number; absIdx: number } {
  const pen = ts.penalties < t.inactivity.length ? ts.idleRef + t.inactivity[ts.penalties].afterMs : Infinity;
  let absIdx = -1;
  let abs = Infinity;
  t.absence.forEach((a, i) => {
    const due = ts.absence[i].applied ? Infinity : ts.absence[i].last + a.ms;
    if (due < abs) [abs, absIdx] = [due, i];
  });
  return { ladder: ladderDue(t, ts), pen, abs, absIdx };
}

function advanceType(t: CompiledType, ts: TypeState, now: number, out: FoldOutput | null): void {
  for (;;) {
    const { ladder, pen, abs, absIdx } = dues(t, ts);
    const due = Math.min(ladder, pen, abs);
    if (due > now) return;
    if (due === ladder) {
      const from = ts.level;
      const idleSince = Math.max(ts.levelSince, ts.lastActivity ?? ts.levelSince);
      ts.level -= 1;
      ts.levelSince = due;
      ts.reason = { kind: 'ladder', from: t.tierIds[from], idleSince };
      out?.changes.push({ scoringType: t.id, from: t.tierIds[from], to: t.tierIds[ts.level], at: due, reason: ts.reason });
    } else if (due === pen) {
      const p = t.inactivity[ts.penalties];
      ts.leadSum += p.points;
      ts.penalties += 1;
      out?.ledger.push({ scoringType: t.id, kind: 'inactivity', at: due, points: p.points, days: p.afterDays, note: `${p.afterDays} days without activity` });
    } else {
      const a = t.absence[absIdx];
      ts.leadSum += a.points;
      ts.absence[absIdx].applied = true;
      out?.ledger.push({ scoringType: t.id, kind: 'absence', at: due, points: a.points, rule: a.id, ruleName: a.name, days: a.days, note: `nothing matching ${a.name} for ${a.days} days` });
    }
  }
}

function addToBucket(ts: TypeState, d: number, points: number, rule: number): void {
  const n = ts.days.length;
  let i = n - 1;
  if (n === 0 || ts.days[i] !== d) {
    ts.days.push(d);
    ts.pts.push(0);
    ts.kinds.push([]);
    i = n;
  }
  ts.pts[i] += points;
  if (points > 0 && !ts.kinds[i].includes(rule)) ts.kinds[i].push(rule);
}

/** Points one rule gives one event after its caps; consumes the caps. */
function applyRule(t: CompiledType, ts: TypeState, ruleIdx: number, at: number): { points: number; clippedBy?: string } {
  const r = t.rules[ruleIdx];
  const { perDay, perWindow, perLead } = r.caps;
  if (perDay !== undefined && (ts.dayCounts[ruleIdx] ?? 0) >= perDay) return { points: 0, clippedBy: 'perDay' };
  let recent: number[] | undefined;
  if (perWindow) {
    const since = at - perWindow.days * 86_400_000;
    recent = (ts.windowTimes[ruleIdx] ?? []).filter((x) => x > since);
    ts.windowTimes[ruleIdx] = recent;
    if (recent.length >= perWindow.count) return { points: 0, clippedBy: 'perWindow' };
  }
  if (perLead !== undefined && (ts.leadCounts[ruleIdx] ?? 0) >= perLead) return { points: 0, clippedBy: 'perLead' };
  if (perDay !== undefined) ts.dayCounts[ruleIdx] = (ts.dayCounts[ruleIdx] ?? 0) + 1;
  if (recent) recent.push(at);
  if (perLead !== undefined) ts.leadCounts[ruleIdx] = (ts.leadCounts[ruleIdx] ?? 0) + 1;
  let points = r.points;
  let clippedBy: string | undefined;
  // Point caps limit what rules give, not what they take away.
  if (points > 0 && r.group >= 0) {
    const room = Math.max(0, t.groupCaps[r.group] - (ts.groupPts[r.group] ?? 0));
    if (points > room) [points, clippedBy] = [room, `group:${t.groupIds[r.group]}`];
    ts.groupPts[r.group] = (ts.groupPts[r.group] ?? 0) + points;
  }
  if (points > 0) {
    const room = Math.max(0, t.dailyPointsCap - ts.dayPts);
    if (points > room) [points, clippedBy] = [room, 'dailyPointsCap'];
    ts.dayPts += points;
  }
  return { points, clippedBy };
}

function foldType(model: CompiledModel, t: CompiledType, ts: TypeState, e: LeadEvent, path: string | undefined, newSession: boolean, fitRank: number, out: FoldOutput): void {
  const at = e.timestamp;
  const d = model.days.day(at);
  advanceType(t, ts, at, out);
  if (ts.capDay !== d) {
    // Once a day per lead, so each fold stays O(1) however many buckets the window holds.
    ts.capDay = d;
    ts.dayCounts = {};
    ts.groupPts = {};
    ts.dayPts = 0;
    ts.winSum = sumDays(ts, d - t.windowDays + 1, d);
    ts.surgeBase = engagementOn(t, ts, d - surgeDays(t));
  }
  prune(t, ts, d);

  // Suppression first: an unsubscribe is cold at once, whatever its points.
  if (!ts.suppressed && t.suppress.some((m) => m(e, path))) {
    const from = ts.level;
    ts.suppressed = true;
    ts.reason = { kind: 'suppressed', messageId: e.messageId, event: e.event ?? e.type };
    if (from !== 0) {
      ts.level = 0;
      ts.levelSince = at;
      out.changes.push({ scoringType: t.id, from: t.tierIds[from], to: t.tierIds[0], at, reason: ts.reason });
    }
  }

  let activity = false;
  let matchedAny = false;
  for (const r of t.rules) {
    if (r.otherwise && matchedAny) continue;
    if (!r.matches(e, path)) continue;
    matchedAny = true;
    const { points, clippedBy } = applyRule(t, ts, r.index, at);
    if (points !== 0) {
      addToBucket(ts, d, points, r.index);
      ts.leadSum += points;
      ts.winSum += points;
    }
    if (points > 0 && r.activity) activity = true;
    const entry: LedgerEntry = { scoringType: t.id, kind: 'rule', at, points, messageId: e.messageId, rule: r.id, ruleName: r.name, base: r.points };
    if (clippedBy) entry.clippedBy = clippedBy;
    out.ledger.push(entry);
  }

  // Escalation floors; an event that meets one is activity too (reading pricing for 3 minutes is engagement).
  let floor = -1;
  let floorIdx = -1;
  t.floors.forEach((f, i) => {
    let hit = f.matches ? f.matches(e, path) : false;
    if (f.session && e.type === 'page' && path !== undefined) {
      const seen = newSession ? (ts.sessionPaths[i] = []) : ts.sessionPaths[i];
      if ((!f.session.path || f.session.path(path)) && !seen.includes(path) && seen.length < f.session.distinctPages) seen.push(path);
      if (seen.length >= f.session.distinctPages) hit = true;
    } else if (f.session && newSession) {
      ts.sessionPaths[i] = [];
    }
    if (hit && f.level > floor) [floor, floorIdx] = [f.level, i];
  });
  if (floorIdx >= 0) activity = true;

  for (let i = 0; i < t.absence.length; i++) {
    if (t.absence[i].matches(e, path)) ts.absence[i] = { last: at, applied: false };
  }

  if (activity) {
    ts.lastActivity = at;
    ts.idleRef = at;
    ts.penalties = 0;
    if (!ts.suppressed) {
      const score = Math.max(0, ts.winSum);
      const tier = tierOf(t, score);
      let surge = -1;
      let gain = 0;
      if (t.surge) {
        gain = score - ts.surgeBase;
        if (gain >= t.surge.points) surge = Math.min(tier + 1, t.tierIds.length - 1);
      }
      const next = Math.max(ts.level, tier, floor, surge);
      if (next > ts.level) {
        const reason: LevelReason =
          next === floor
            ? { kind: 'floor', floor: t.floors[floorIdx].id, name: t.floors[floorIdx].name, messageId: e.messageId }
            : next === surge && next > tier
              ? { kind: 'surge', gain, score }
              : { kind: 'tier', score };
        out.changes.push({ scoringType: t.id, from: t.tierIds[ts.level], to: t.tierIds[next], at, reason });
        ts.level = next;
        ts.levelSince = at;
        ts.reason = reason;
      }
    }
  }

  if (t.stages.length) {
    const lead = Math.max(0, ts.leadSum);
    const eng = Math.max(0, ts.winSum);
    for (let s = t.stages.length - 1; s > ts.stage; s--) {
      const st = t.stages[s];
      if (lead >= st.minLeadScore && eng >= st.minEngagementScore && ts.level >= st.minLevel && fitRank <= st.minFit) {
        ts.stage = s;
        break;
      }
    }
  }
}

/**
 * Folds one event into the state (mutating it). The event must come after every event folded so far
 * (`isInOrder`); `Scorer` and `score` take care of order.
 */
export function fold(model: CompiledModel, state: LeadState, e: LeadEvent): FoldOutput {
  if (!isInOrder(state, e)) {
    throw new RangeError(`event ${e.messageId} at ${new Date(e.timestamp).toISOString()} is before the last folded event`);
  }
  const out: FoldOutput = { ledger: [], changes: [] };
  const at = e.timestamp;
  if (state.firstSeen === null) {
    state.firstSeen = at;
    for (const ts of state.types) {
      ts.levelSince = at;
      ts.idleRef = at;
      for (const a of ts.absence) a.last = at;
    }
  }
  const newSession = state.sessionLast === null || at - state.sessionLast > model.sessionMs;
  state.sessionLast = at;
  const path = eventPath(e);
  // Traits first: an identify that makes the lead a good fit can complete a stage at once.
  if (model.fit) noteFitTraits(model.fit, (state.fit ??= emptyFitState()), e);
  const fitRank = state.fit?.rank ?? FIT_GRADES.length - 1;
  model.types.forEach((t, i) => foldType(model, t, state.types[i], e, path, newSession, fitRank, out));
  state.clock = at;
  state.lastId = e.messageId;
  return out;
}

/** Brings the whole state forward to `now` (mutating it), recording what fell due on the way. */
export function advance(model: CompiledModel, state: LeadState, now: number, out: FoldOutput | null = null): void {
  if (state.firstSeen === null) return;
  model.types.forEach((t, i) => advanceType(t, state.types[i], now, out));
}

function readType(model: CompiledModel, t: CompiledType, ts: TypeState, now: number, seen: boolean, fit: FitResult | null): TypeResult {
  const d = model.days.day(now);
  const engagement = engagementOn(t, ts, d);
  const from = d - t.windowDays + 1;
  const signals = new Set<string>();
  let windowExpiry = Infinity;
  for (let i = 0; i < ts.days.length; i++) {
    if (ts.days[i] < from || ts.days[i] > d) continue;
    for (const k of ts.kinds[i]) signals.add(t.rules[k].id);
    if (ts.pts[i] !== 0 && windowExpiry === Infinity) windowExpiry = model.days.start(ts.days[i] + t.windowDays);
  }
  const { ladder, pen, abs } = dues(t, ts);
  const next = Math.min(ladder, pen, abs, windowExpiry);
  const stage = ts.stage >= 0 ? t.stages[ts.stage] : null;
  return {
    scoringType: t.id,
    name: t.name,
    level: t.tierIds[ts.level],
    levelName: t.tierNames[ts.level],
    levelSince: seen ? ts.levelSince : null,
    reason: ts.reason,
    engagementScore: engagement,
    leadScore: Math.max(0, ts.leadSum),
    momentum: engagement - engagementOn(t, ts, d - surgeDays(t)),
    diversity: signals.size,
    signals: [...signals].sort(),
    doNotContact: ts.suppressed,
    stage: stage?.id ?? null,
    stageName: stage?.name ?? null,
    lastActivityAt: ts.lastActivity,
    nextLevelChangeAt: seen && ladder !== Infinity ? ladder : null,
    nextChangeAt: seen && next !== Infinity ? next : null,
    fit,
  };
}

/**
 * Scores, level and next self-driven change at instant `now` (not before the last folded event), without
 * touching the state. Pass `out` to collect the penalties and ladder steps that fell due before `now`.
 */
export function evaluate(model: CompiledModel, state: LeadState, now: number, out: FoldOutput | null = null): TypeResult[] {
  const s = cloneState(state);
  const at = Math.max(now, state.clock);
  advance(model, s, at, out);
  const fit = model.fit ? fitOfState(model.fit, s.fit) : null;
  return model.types.map((t, i) => readType(model, t, s.types[i], at, s.firstSeen !== null, fit));
}

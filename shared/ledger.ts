/**
 * The complete ledger: every point of both scores of every scoring type, as entries that add up to them at the
 * instant read (issue 13, the "where are the remaining 80 points" complaint). Derived, never stored: a refold of
 * a stretch of history from a compact state (a checkpoint, the base, or nothing) with the same engine.
 *
 * Each entry counts toward the lead score, the engagement score, or both (`counts`):
 * - `opening` — the balance the stretch starts from (the state's all-time sum, and what of it is still inside the
 *   window); absent when the stretch starts at the lead's first event;
 * - `rule` (both) — what a rule gave an event; `cap` (both) when a cap held some or all of it back;
 * - `penalty`, `absence` (lead) — inactivity penalties and absence rules, at the instant they fell due;
 * - `expiry` (engagement) — a day's rule points leaving the rolling window, negated, at the instant they leave;
 * - `held`, `release` (0 points) — an event held back as a machine's, and when a person's behaviour released it
 *   (its points are then its `rule` entries, at its own time);
 * - `clamp` — what the clamp at 0 absorbs, at the instant read.
 * There is no decay in the engine: points leave the engagement score only by expiry.
 */
import type { CompiledModel, CompiledType } from './compile.js';
import { cloneState, evaluate, fold, type FoldOutput, type LedgerEntry, type LeadState, type TypeResult } from './engine.js';
import type { LeadEvent } from './events.js';
import { explainAbsence, explainClamp, explainEarlier, explainExpiry, explainHeld, explainOpening, explainPenalty, explainRelease, explainRulePoints } from './explain.js';

export type LedgerKind = 'opening' | 'rule' | 'cap' | 'penalty' | 'absence' | 'expiry' | 'held' | 'release' | 'clamp';

/** Which score an entry counts toward. */
export type LedgerCounts = 'both' | 'lead' | 'engagement';

/**
 * One entry. Rule and cap entries carry the engine's `messageId`, `rule`, `ruleName`, `base` (the rule's points
 * before caps), `clippedBy` (the cap that cut them) and `inWindow` (the window still holds it at the instant read;
 * else an expiry took it out); held and release entries the `messageId`.
 */
export interface LedgerItem extends Pick<LedgerEntry, 'messageId' | 'rule' | 'ruleName' | 'base' | 'clippedBy' | 'inWindow'> {
  scoringType: string;
  kind: LedgerKind;
  /** When it counted (ms). */
  at: number;
  points: number;
  counts: LedgerCounts;
  reason: string;
  /** Rule and cap entries of an event whose time was corrected (clamped, future): what was done, as the event says. */
  timeNote?: string;
}

/** An event as the ledger reads it: held back as a machine's, released at `releasedAt` or still held (null). */
export type LedgerEvent = LeadEvent & { held?: { reason: string; releasedAt: number | null } | null };

export interface Ledger {
  /** In time order; entries of all scoring types. */
  entries: LedgerItem[];
  /** The scores the entries add up to, as `evaluate` gives them at `now`. */
  results: TypeResult[];
}

/** What an entry adds to each score. */
export const leadPart = (x: LedgerItem) => (x.counts === 'engagement' ? 0 : x.points);
export const engagementPart = (x: LedgerItem) => (x.counts === 'lead' ? 0 : x.points);

const windowStart = (model: CompiledModel, t: CompiledType, at: number) => model.days.day(at) - t.windowDays + 1;

/**
 * The ledger of the events after state `start` (engine order; held ones included, they are not folded) up to
 * `now`, and the scores it adds up to. `start` is the state at the beginning of a day (a checkpoint or the base):
 * its buckets then hold whole days, so each day's expiry is one entry.
 */
export function ledgerOf(model: CompiledModel, start: LeadState, events: Iterable<LedgerEvent>, now: number): Ledger {
  const state = cloneState(start);
  const entries: LedgerItem[] = [];
  /** Per scoring type: each day's rule points, the days an expiry entry will be due for. */
  const dayPts = model.types.map(() => new Map<number, number>());

  if (start.firstSeen !== null) {
    model.types.forEach((t, i) => {
      const ts = start.types[i];
      const from = windowStart(model, t, start.clock);
      let inWindow = 0;
      ts.days.forEach((d, k) => {
        if (d < from || ts.pts[k] === 0) return;
        inWindow += ts.pts[k];
        dayPts[i].set(d, ts.pts[k]);
      });
      const rest = ts.leadSum - inWindow;
      if (inWindow !== 0) entries.push({ scoringType: t.id, kind: 'opening', at: start.clock, points: inWindow, counts: 'both', reason: explainOpening(start.clock, inWindow, true) });
      if (rest !== 0) entries.push({ scoringType: t.id, kind: 'opening', at: start.clock, points: rest, counts: 'lead', reason: explainOpening(start.clock, rest, false) });
    });
  }

  const note = (x: LedgerEntry, e?: LeadEvent) => {
    const i = model.types.findIndex((t) => t.id === x.scoringType);
    const t = model.types[i];
    if (x.kind === 'rule') {
      if (x.points !== 0) {
        const d = model.days.day(x.at);
        dayPts[i].set(d, (dayPts[i].get(d) ?? 0) + x.points);
      }
      const item: LedgerItem = {
        scoringType: t.id,
        kind: x.clippedBy ? 'cap' : 'rule',
        at: x.at,
        points: x.points,
        counts: 'both',
        reason: explainRulePoints(t, x.ruleName ?? x.rule!, x.rule!, x.points, x.base ?? x.points, x.clippedBy),
        messageId: x.messageId,
        rule: x.rule,
        ruleName: x.ruleName,
        base: x.base,
        inWindow: model.days.day(x.at) >= windowStart(model, t, now),
      };
      if (x.clippedBy) item.clippedBy = x.clippedBy;
      if (e?.timeNote) [item.timeNote, item.reason] = [e.timeNote, `${item.reason} (${e.timeNote})`];
      entries.push(item);
    } else if (x.kind === 'inactivity') {
      entries.push({ scoringType: t.id, kind: 'penalty', at: x.at, points: x.points, counts: 'lead', reason: explainPenalty(x.days!, x.points) });
    } else if (x.kind === 'absence') {
      entries.push({ scoringType: t.id, kind: 'absence', at: x.at, points: x.points, counts: 'lead', reason: explainAbsence(x.ruleName!, x.days!, x.points), rule: x.rule, ruleName: x.ruleName });
    }
  };
  const both = (kind: 'held' | 'release', at: number, e: LeadEvent, reason: string) => {
    for (const t of model.types) entries.push({ scoringType: t.id, kind, at, points: 0, counts: 'both', reason, messageId: e.messageId });
  };

  for (const e of events) {
    if (e.timestamp > now) break;
    const released = e.held && e.held.releasedAt !== null && e.held.releasedAt <= now ? e.held.releasedAt : null;
    if (e.held) both('held', e.timestamp, e, explainHeld(e.held.reason));
    if (e.held && released === null) continue;
    for (const x of fold(model, state, e).ledger) note(x, x.messageId === e.messageId ? e : undefined);
    if (released !== null) both('release', Math.max(released, e.timestamp), e, explainRelease(e.timestamp));
  }
  // What fell due after the last event (penalties, absences), up to `now`.
  const due: FoldOutput = { ledger: [], changes: [] };
  const results = evaluate(model, state, now, due);
  for (const x of due.ledger) note(x);

  model.types.forEach((t, i) => {
    for (const [d, pts] of dayPts[i]) {
      const leaves = model.days.start(d + t.windowDays);
      if (leaves <= now) entries.push({ scoringType: t.id, kind: 'expiry', at: leaves, points: -pts, counts: 'engagement', reason: explainExpiry(t, model.days.start(d), pts) });
    }
    let lead = 0;
    let engagement = 0;
    for (const x of entries) {
      if (x.scoringType !== t.id) continue;
      lead += leadPart(x);
      engagement += engagementPart(x);
    }
    if (lead < 0) entries.push({ scoringType: t.id, kind: 'clamp', at: now, points: -lead, counts: 'lead', reason: explainClamp('lead', lead) });
    if (engagement < 0) entries.push({ scoringType: t.id, kind: 'clamp', at: now, points: -engagement, counts: 'engagement', reason: explainClamp('engagement', engagement) });
  });
  // Stable: entries of one instant keep the order they were made in (an event's rules, then what followed).
  entries.sort((a, b) => a.at - b.at);
  return { entries, results };
}

/**
 * At most `n` entries of one scoring type's ledger (time order), the older ones summed into opening entries at
 * the time of the newest of them: what they add to both scores, and what to the lead score only. The sums stay.
 */
export function newestEntries(entries: LedgerItem[], n: number): LedgerItem[] {
  if (entries.length <= n) return entries;
  const older = entries.slice(0, entries.length - n + 2);
  const at = older[older.length - 1].at;
  const engagement = older.reduce((s, x) => s + engagementPart(x), 0);
  const lead = older.reduce((s, x) => s + leadPart(x), 0);
  const { scoringType } = entries[0];
  const balance = (points: number, counts: LedgerCounts): LedgerItem => ({ scoringType, kind: 'opening', at, points, counts, reason: explainEarlier(older.length, at, points, counts) });
  return [balance(engagement, 'both'), balance(lead - engagement, 'lead'), ...entries.slice(older.length)];
}

/**
 * Reason texts: why a lead is at its level, why it moved, what each rule gave. One module, so the lead read,
 * webhooks and the dashboard say the same thing in the same words.
 */
import type { Reason } from './api.js';
import type { CompiledType } from './compile.js';
import type { LevelReason } from './engine.js';

const iso = (t: number | null | undefined) => (t === null || t === undefined || !Number.isFinite(t) ? undefined : new Date(t).toISOString());

const tierName = (t: CompiledType, id: string) => t.tierNames[t.tierIds.indexOf(id)] ?? id;

/**
 * Why a lead of type `t` is (or became) `level` at `at`. `engagementScore` explains a lead never lifted:
 * it sits in its score's tier.
 */
export function explainLevel(t: CompiledType, level: string, reason: LevelReason, at: number | null, engagementScore: number): Reason {
  const name = tierName(t, level);
  const when = iso(at);
  switch (reason.kind) {
    case 'floor':
      return { kind: 'floor', text: `${reason.name}: at least ${name}`, at: when };
    case 'surge':
      return { kind: 'surge', text: `Engagement up ${reason.gain} points in ${t.surge?.days ?? 7} days: one tier above its score`, at: when };
    case 'tier':
    case 'start': {
      const i = Math.max(0, t.tierIds.indexOf(level));
      const hi = t.tierMins[i + 1];
      const score = reason.kind === 'tier' ? reason.score : engagementScore;
      return { kind: 'tier', text: `Engagement score ${score} is in ${name} (${t.tierMins[i]}${hi === undefined ? '+' : `–${hi - 1}`})`, at: when };
    }
    case 'ladder':
      return { kind: 'ladder', text: `No activity since ${iso(reason.idleSince)}: dropped from ${tierName(t, reason.from)} to ${name}`, at: when };
    case 'suppressed':
      return { kind: 'suppressed', text: `${reason.event}: cold and do-not-contact from then on`, at: when };
  }
}

/** What one rule gave inside the engagement window. */
export function explainRule(t: CompiledType, rule: string, points: number, events: number, last: number): Reason {
  const name = t.rules.find((x) => x.id === rule)?.name ?? rule;
  return {
    kind: 'points',
    text: `${name}: ${points > 0 ? '+' : ''}${points} (${events} event${events === 1 ? '' : 's'} in the last ${t.windowDays} days)`,
    points,
    at: iso(last),
  };
}

/** History older than the retained raw events, carried into the scores as a single entry. */
export function explainCarried(points: number, events: number, cut: number, scoredUnder: { id: string; version: number } | null): string {
  const under = scoredUnder ? `, as scored under model ${scoredUnder.id} v${scoredUnder.version} (the raw events were compacted before this model)` : '';
  return `History before ${iso(cut)}: ${events} event${events === 1 ? '' : 's'} compacted, ${points > 0 ? '+' : ''}${points} points${under}`;
}

const signed = (n: number) => `${n > 0 ? '+' : n < 0 ? '−' : '+'}${Math.abs(n)}`;
const day = (t: number) => iso(t)?.slice(0, 10) ?? 'the start';

/** Which cap cut a rule's points (`clippedBy` of a ledger entry), in words. */
export function explainCap(t: CompiledType, rule: string, clippedBy: string): string {
  const r = t.rules.find((x) => x.id === rule);
  if (clippedBy === 'perDay') return `its cap of ${r?.caps.perDay} a day`;
  if (clippedBy === 'perWindow') return `its cap of ${r?.caps.perWindow?.count} per ${r?.caps.perWindow?.days} days`;
  if (clippedBy === 'perLead') return `its cap of ${r?.caps.perLead} per lead`;
  if (clippedBy === 'dailyPointsCap') return `the daily points cap (${t.dailyPointsCap})`;
  if (clippedBy.startsWith('group:')) {
    const g = clippedBy.slice('group:'.length);
    return `the daily cap of group ${g} (${t.groupCaps[t.groupIds.indexOf(g)]} points)`;
  }
  return clippedBy;
}

/** A rule's entry: what it gave, and when a cap held some or all of it back, which cap and how much. */
export function explainRulePoints(t: CompiledType, ruleName: string, rule: string, points: number, base: number, clippedBy: string | undefined): string {
  if (!clippedBy) return `${ruleName}: ${signed(points)}`;
  return `${ruleName}: ${signed(points)} of ${signed(base)}, ${explainCap(t, rule, clippedBy)} held back ${Math.abs(base - points)}`;
}

export function explainExpiry(t: CompiledType, earnedOn: number, points: number): string {
  return `Points earned on ${day(earnedOn)} (${signed(points)}) left the ${t.windowDays}-day window: engagement score only`;
}

export function explainPenalty(afterDays: number, points: number): string {
  return `${afterDays} days without activity: ${signed(points)} (lead score only)`;
}

export function explainAbsence(name: string, days: number, points: number): string {
  return `Nothing matching ${name} for ${days} days: ${signed(points)} (lead score only)`;
}

export function explainHeld(reason: string): string {
  return `held: ${reason}; 0 points while held`;
}

export function explainRelease(eventAt: number): string {
  return `released: a person's behaviour showed up, so the event held back counts at its own time (${iso(eventAt)})`;
}

export function explainClamp(score: 'lead' | 'engagement', sum: number): string {
  return `The ${score} score does not go below 0: the entries add up to ${signed(sum)}, the clamp absorbs ${signed(-sum)}`;
}

/** The balance a stretch of the ledger starts from: everything before it, which the events listing itemizes. */
export function explainOpening(before: number, points: number, inWindow: boolean): string {
  return inWindow
    ? `Before ${iso(before)}: ${signed(points)} still inside the engagement window (each event is in the events listing)`
    : `Before ${iso(before)}: ${signed(points)} in the lead score only (older rule points, penalties; each event is in the events listing)`;
}

/** Older entries a lead read sums up instead of listing (the events listing has each). */
export function explainEarlier(entries: number, until: number, points: number, counts: 'both' | 'lead' | 'engagement'): string {
  const toward = counts === 'both' ? 'to both scores' : 'to the lead score only';
  return `${entries} earlier entries, up to ${iso(until)}: ${signed(points)} ${toward} (each is in the events listing)`;
}

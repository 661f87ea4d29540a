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

/**
 * A lead's learning record: what the lead had done before it converted (or so far, when it has not), and where
 * the model had put it at that moment. The engine keeps it in the lead's compact state as it folds (engine.ts),
 * so the Durable Object, the backtest and the insights all read the very numbers the fold produced — and a late
 * event before the conversion is counted exactly once, by the same rewind and refold that rescores it.
 *
 * Honest evaluation: the conversion event itself and everything after it are never counted, so an action that
 * only happens once a deal is open (a contract download, say) earns no credit for predicting it.
 */
import type { LeadEvent } from '../events.js';

/** The events that record a conversion (SPEC: conversion rate "to `Opportunity Created` / `Deal Won`"). */
export const CONVERSION_EVENTS: readonly string[] = ['Opportunity Created', 'Deal Won'];

export const isConversion = (e: Pick<LeadEvent, 'type' | 'event'>) => e.type === 'track' && e.event !== undefined && CONVERSION_EVENTS.includes(e.event);

/** Feature names: `rule:<id>` (an event the rule matched, points or not) and `trigger:<id>` (an escalation floor it met). */
export const ruleFeature = (id: string) => `rule:${id}`;
export const triggerFeature = (id: string) => `trigger:${id}`;

const cache = new WeakMap<object, { rules: string[]; triggers: string[] }>();
/** A scoring type's feature names by rule and floor index, made once: the fold names one for every event. */
export function featureNames(t: { rules: readonly { id: string }[]; floors: readonly { id: string }[] }): { rules: string[]; triggers: string[] } {
  let f = cache.get(t);
  if (!f) cache.set(t, (f = { rules: t.rules.map((r) => ruleFeature(r.id)), triggers: t.floors.map((x) => triggerFeature(x.id)) }));
  return f;
}

export const bump = (counts: Record<string, number>, feature: string) => {
  counts[feature] = (counts[feature] ?? 0) + 1;
};

export interface LearnState {
  /** Matches per feature of the model's first scoring type, from events before the conversion. */
  counts: Record<string, number>;
  /** When the lead converted (its first conversion event), else null. */
  convertedAt: number | null;
  /** The level index and scores at the conversion (just before its event), else after the last event folded. */
  levelRank: number;
  engagementScore: number;
  leadScore: number;
  /** The instant those were read at. */
  at: number | null;
}

export const initLearn = (): LearnState => ({ counts: {}, convertedAt: null, levelRank: 0, engagementScore: 0, leadScore: 0, at: null });

export const cloneLearn = (l: LearnState): LearnState => ({ ...l, counts: { ...l.counts } });

/** Where the lead stood: written after every event until the conversion, then frozen. */
export function standing(l: LearnState, at: number, levelRank: number, engagementScore: number, leadScore: number): void {
  l.at = at;
  l.levelRank = levelRank;
  l.engagementScore = engagementScore;
  l.leadScore = leadScore;
}

/**
 * For the Scorer's refold from a checkpoint (scorer.ts), which keeps no record: `was` is the record before the
 * refold, `old` the refolded stretch's as it was folded before and `now` as it is folded now, each counted from
 * the checkpoint. Counts only add until a conversion, so the stretch's old counts come out and its new ones go
 * in. The conversion and the standing are the new stretch's when it converted or ran to the last event; else
 * (it rejoined the old fold, neither stretch converted) the old record's, since the rest folds as it did.
 */
export function mergeLearn(was: LearnState, old: LearnState, now: LearnState, rejoined: boolean): LearnState {
  const counts = { ...was.counts };
  for (const [k, n] of Object.entries(old.counts)) counts[k] = (counts[k] ?? 0) - n;
  for (const [k, n] of Object.entries(now.counts)) counts[k] = (counts[k] ?? 0) + n;
  for (const k of Object.keys(counts)) if (!counts[k]) delete counts[k];
  return now.convertedAt !== null || !rejoined ? { ...now, counts } : { ...was, counts };
}

/**
 * Full recomputation: a lead's whole history, scored from nothing. The reference the incremental `Scorer`
 * must equal, the explanation sales reads (the ledger), and the engine of backtests.
 */
import type { LeadEvent } from './events.js';
import type { CompiledModel } from './compile.js';
import {
  compareEvents,
  evaluate,
  fold,
  initState,
  type FoldOutput,
  type LedgerEntry,
  type LevelChange,
  type LeadState,
  type TypeResult,
} from './engine.js';

export interface ScoredType extends TypeResult {
  /** Every point: rule entries (with caps and window), penalties, and the clamps at 0. Sums to the scores. */
  ledger: LedgerEntry[];
  history: LevelChange[];
}

export interface ScoreReport {
  model: string;
  version: number;
  now: number;
  events: number;
  /** Events timed after `now`, not scored. */
  skippedFuture: number;
  duplicates: number;
  types: ScoredType[];
  state: LeadState;
}

/** Marks rule entries inside the window at `now` and adds the clamp entries, so each score is its ledger's sum. */
export function finishLedger(model: CompiledModel, results: TypeResult[], ledger: LedgerEntry[], now: number): LedgerEntry[][] {
  const today = model.days.day(now);
  return model.types.map((t, i) => {
    const from = today - t.windowDays + 1;
    const entries = ledger.filter((x) => x.scoringType === t.id);
    let lead = 0;
    let eng = 0;
    for (const x of entries) {
      if (x.kind === 'clamp') continue;
      lead += x.points;
      if (x.kind === 'rule') {
        x.inWindow = model.days.day(x.at) >= from && x.at <= now;
        if (x.inWindow) eng += x.points;
      }
    }
    const r = results[i];
    if (r.leadScore !== lead) entries.push({ scoringType: t.id, kind: 'clamp', at: now, points: r.leadScore - lead, score: 'lead', note: 'the lead score does not go below 0' });
    if (r.engagementScore !== eng) entries.push({ scoringType: t.id, kind: 'clamp', at: now, points: r.engagementScore - eng, score: 'engagement', note: 'the engagement score does not go below 0' });
    return entries;
  });
}

/**
 * Scores a lead from its events as of `now`. Duplicates (same messageId) count once, the first one seen;
 * events are taken in time order (ties by messageId), so the answer does not depend on arrival order.
 */
export function score(model: CompiledModel, events: readonly LeadEvent[], now: number): ScoreReport {
  const seen = new Set<string>();
  const kept: LeadEvent[] = [];
  let duplicates = 0;
  let skippedFuture = 0;
  for (const e of events) {
    if (seen.has(e.messageId)) {
      duplicates++;
      continue;
    }
    seen.add(e.messageId);
    if (e.timestamp > now) skippedFuture++;
    else kept.push(e);
  }
  kept.sort(compareEvents);
  const state = initState(model);
  const out: FoldOutput = { ledger: [], changes: [] };
  for (const e of kept) {
    const r = fold(model, state, e);
    out.ledger.push(...r.ledger);
    out.changes.push(...r.changes);
  }
  const results = evaluate(model, state, now, out);
  const ledgers = finishLedger(model, results, out.ledger, now);
  return {
    model: model.id,
    version: model.version,
    now,
    events: kept.length,
    skippedFuture,
    duplicates,
    state,
    types: results.map((r, i) => ({
      ...r,
      ledger: ledgers[i],
      history: out.changes.filter((c) => c.scoringType === r.scoringType),
    })),
  };
}

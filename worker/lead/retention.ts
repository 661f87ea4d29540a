/**
 * Retention: raw events older than `RAW_RETENTION_DAYS` are compacted so storage stays bounded. The cut is
 * always at a checkpoint, whose state becomes the lead's base: scoring goes on from it exactly, a late event
 * before every later checkpoint rewinds to it, and a model change rescores the retained events from it (its
 * all-time points carried over, and said so). What the compacted events gave is kept per day and rule in
 * the rollups, and their ids stay in the log (without bodies), so a retry is still a duplicate.
 */
import type { CompiledModel } from '../../shared/compile.js';
import { cloneState, fold } from '../../shared/engine.js';
import type { RollupRow, Store } from './store.js';
import type { Scoring } from './scoring.js';
import type { Timers } from './timers.js';

export class Retention {
  constructor(
    private readonly store: Store,
    private readonly scoring: Scoring,
    private readonly timers: Timers,
    private readonly model: CompiledModel,
    private readonly retentionMs: number,
  ) {}

  /**
   * When compaction can next make progress: when the first checkpoint after the oldest retained event falls
   * out of the retention. A lead without one (a single day of history) has nothing to compact.
   */
  due(): number | null {
    const scorer = this.scoring.scorer();
    if (!scorer) return null;
    const oldest = this.store.oldestEventTime();
    if (oldest === null) return null;
    const next = scorer.checkpoints.find((c) => this.model.days.start(c.day) > oldest);
    return next ? this.model.days.start(next.day) + this.retentionMs : null;
  }

  /** After a commit: schedules compaction once there is something it could compact. */
  schedule(): void {
    if (!this.timers.get('compact')) this.timers.set('compact', this.due());
  }

  /** Compacts what fell out of the retention by `now`, then schedules the next compaction. Idempotent. */
  compact(now: number): void {
    const scorer = this.scoring.scorer();
    if (!scorer) return;
    const cutDay = this.model.days.day(now - this.retentionMs);
    const base = [...scorer.checkpoints].reverse().find((c) => c.day <= cutDay);
    if (base) {
      const cut = this.model.days.start(base.day);
      // What the compacted stretch gave, rule by rule, refolded from the old base (the same engine).
      const rollups = new Map<string, RollupRow>();
      const state = cloneState(scorer.base);
      let events = 0;
      for (const e of this.store.eventsAfter(state.clock, state.lastId, cut - 1)) {
        events++;
        for (const x of fold(this.model, state, e).ledger) {
          const rule = x.rule ?? x.kind;
          const day = this.model.days.day(x.at);
          const k = `${day}\u0000${x.scoringType}\u0000${rule}`;
          const r = rollups.get(k) ?? { day, scoringType: x.scoringType, rule, points: 0, events: 0 };
          r.points += x.points;
          if (x.messageId) r.events += 1;
          rollups.set(k, r);
        }
      }
      this.store.addRollups([...rollups.values()]);
      this.store.archiveBefore(cut);
      const previous = this.store.meta('base');
      const compacted = (previous ? (JSON.parse(previous) as { events?: number }).events ?? 0 : 0) + events;
      this.scoring.rebase(base.day, { cut, events: compacted });
      this.store.setMeta('scorable_from', String(cut));
    }
    this.timers.set('compact', this.due());
  }
}

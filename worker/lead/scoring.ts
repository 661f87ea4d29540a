/**
 * Scoring: the shared engine's incremental Scorer, loaded from the store and written back at one commit
 * point. A batch's events, the compact state, the checkpoints it moved, the level history, the outbox rows and
 * the next due time are all written with no `await` in between, so they commit as one.
 *
 * A lead scored under another model is not rescored where it is read: it is marked for migration (a timer),
 * the alarm rescores it, and reads meanwhile answer from the summary stored at its last commit.
 */
import type { CompiledModel } from '../../shared/compile.js';
import { cloneState, initState, rebaseState, type FoldOutput, type LeadState, type LevelChange, type TypeResult } from '../../shared/engine.js';
import type { LeadEvent } from '../../shared/events.js';
import { Scorer, type EventLog } from '../../shared/scorer.js';
import type { Store } from './store.js';

/** What a commit changed, for the outbox and the answer. */
export interface Committed {
  added: string[];
  duplicates: string[];
  archived: number;
  changes: LevelChange[];
  before: TypeResult[];
  after: TypeResult[];
}

export interface ScoringHost {
  /** Called inside the commit with the level changes it recorded (new ones only), to enqueue their news. */
  onChanges(changes: LevelChange[], results: TypeResult[], now: number): void;
  /** Called inside the commit with the next instant the lead changes by itself. */
  onNextChange(at: number | null): void;
}

export class Scoring {
  #scorer: Scorer | null = null;
  /** Checkpoint days as stored, so a commit writes only what moved. */
  #storedDays = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly model: CompiledModel,
    private readonly host: ScoringHost,
  ) {}

  /** Whether the lead has been scored at all. */
  get exists(): boolean {
    return this.store.meta('state') !== undefined;
  }

  /** Scored under another model (or another version of it): waiting for the alarm to rescore it. */
  get stale(): boolean {
    const s = this.store.state();
    return !!s && (s.model !== this.model.id || s.fingerprint !== this.model.fingerprint);
  }

  /** Events before this instant were compacted: they can be counted but not rescored. */
  get horizon(): number {
    return Number(this.store.meta('scorable_from') ?? Number.MIN_SAFE_INTEGER);
  }

  /** Ids the current commit already looked up, so the Scorer does not ask the store again. */
  #known: Set<string> | null = null;
  readonly #log: EventLog = {
    has: (id) => (this.#known ?? this.store.known([id])).has(id),
    known: (ids) => this.#known ?? this.store.known(ids),
    add: () => {},
    // The commit stores the events itself (`Store.addEvents`), beside everything else it writes.
    addAll: () => {},
    after: (t, id) => this.store.eventsAfter(t, id),
  };

  #load(): Scorer {
    if (!this.#scorer) {
      const state = this.store.state();
      const checkpoints = this.store.checkpoints();
      const b = this.store.meta('base');
      this.#scorer = new Scorer(this.model, this.#log, state ? { state, checkpoints, base: b ? this.#parseBase(b) : null } : undefined, { ledgers: false });
      this.#storedDays = new Set(checkpoints.map((c) => c.day));
    }
    return this.#scorer;
  }

  #parseBase(text: string): LeadState {
    const { state } = JSON.parse(text) as { state: LeadState };
    if (state.clock === null) state.clock = -Infinity;
    for (const t of state.types) if (t.capDay === null) t.capDay = -Infinity;
    return state;
  }

  /** The lead as of `now`, without writing anything (the level history is recorded by `settle`). */
  evaluate(now: number, out: FoldOutput | null = null): TypeResult[] | null {
    if (!this.exists) return null;
    if (this.stale) return this.summary();
    return this.#load().evaluate(now, out);
  }

  /** The results stored at the last commit: what reads show while the lead waits to be rescored. */
  summary(): TypeResult[] | null {
    const s = this.store.meta('summary');
    return s ? (JSON.parse(s) as TypeResult[]) : null;
  }

  state(): LeadState | null {
    if (!this.exists || this.stale) return null;
    return this.#load().state;
  }

  /** The engine's scorer, for reads that refold a stretch of history (the ledger). */
  scorer(): Scorer | null {
    if (!this.exists || this.stale) return null;
    return this.#load();
  }

  /**
   * Stores and scores events (any order, duplicates allowed). Events older than the retained history are
   * kept as ids and counted, not scored. Synchronous: part of the caller's commit.
   */
  add(events: readonly LeadEvent[], receivedAt: number): Committed {
    const known = this.store.known(events.map((e) => e.messageId));
    const fresh: LeadEvent[] = [];
    const duplicates: string[] = [];
    const seen = new Set<string>();
    for (const e of events) {
      if (known.has(e.messageId) || seen.has(e.messageId)) duplicates.push(e.messageId);
      else {
        seen.add(e.messageId);
        fresh.push(e);
      }
    }
    const horizon = this.horizon;
    const archived = fresh.filter((e) => e.timestamp < horizon);
    const scorable = archived.length ? fresh.filter((e) => e.timestamp >= horizon) : fresh;
    if (archived.length) {
      this.store.addArchived(archived, receivedAt);
      const perDay = new Map<number, number>();
      for (const e of archived) perDay.set(this.model.days.day(e.timestamp), (perDay.get(this.model.days.day(e.timestamp)) ?? 0) + 1);
      this.store.addRollups([...perDay].map(([day, n]) => ({ day, scoringType: '*', rule: 'archived', points: 0, events: n })));
    }
    const scorer = this.#load();
    const before = scorer.evaluate(receivedAt);
    const previousClock = scorer.state.clock;
    this.store.addEvents(scorable, receivedAt);
    this.#known = known;
    const r = scorer.addMany(scorable);
    this.#known = null;
    const changedFrom = r.rewoundTo ?? previousClock;
    if (r.rewoundTo !== null) this.store.replaceLevelsFrom(r.rewoundTo, r.changes);
    else this.store.addLevels(r.changes);
    this.#persist(changedFrom);
    this.host.onChanges(r.changes, scorer.evaluate(Math.max(receivedAt, scorer.state.clock)), receivedAt);
    const after = this.settle(receivedAt);
    return { added: fresh.map((e) => e.messageId), duplicates, archived: archived.length, changes: r.changes, before, after };
  }

  #persist(changedFrom: number): void {
    const scorer = this.#scorer!;
    this.store.setState(scorer.state);
    const fromDay = Number.isFinite(changedFrom) ? this.model.days.day(changedFrom) : Number.MIN_SAFE_INTEGER;
    this.store.syncCheckpoints(scorer.checkpoints, this.#storedDays, fromDay);
    this.#storedDays = new Set(scorer.checkpoints.map((c) => c.day));
  }

  /**
   * Records what fell due by itself up to `now` (ladder steps; penalties show in the ledger on read) and
   * tells the host when the next change is due. Idempotent: a step already recorded is not recorded again.
   */
  settle(now: number): TypeResult[] {
    const scorer = this.#load();
    const out: FoldOutput = { ledger: [], changes: [] };
    const results = scorer.evaluate(now, out);
    const settled = Number(this.store.meta('settled_at') ?? Number.MIN_SAFE_INTEGER);
    const fresh = out.changes.filter((c) => c.at > settled);
    if (fresh.length) {
      this.store.addLevels(fresh);
      this.host.onChanges(fresh, results, now);
    }
    if (out.changes.length) this.store.setMeta('settled_at', String(Math.max(...out.changes.map((c) => c.at))));
    this.store.setMeta('summary', JSON.stringify(results));
    const next = Math.min(...results.map((r) => r.nextChangeAt ?? Infinity));
    this.host.onNextChange(Number.isFinite(next) ? Math.max(next, now + 1) : null);
    return results;
  }

  /**
   * Rescores the whole retained history under the deployment's model (from the stored baseline when older
   * history was compacted). Runs in the alarm, never on a read.
   */
  migrate(now: number): void {
    const old = this.store.state();
    if (!old) return;
    const b = this.store.meta('base');
    const base = b ? rebaseState(this.model, this.#parseBase(b)) : initState(this.model);
    if (b) this.store.setMeta('base', JSON.stringify({ state: base, carried: true, cut: base.clock, model: { id: old.model, version: old.version } }));
    this.#scorer = new Scorer(this.model, this.#log, { state: cloneState(base), checkpoints: [], base }, { ledgers: false });
    const out = this.#scorer.rebuild(this.store.eventsAfter(base.clock, base.lastId), base);
    this.store.replaceLevelsFrom(base.clock, out.changes);
    this.store.deleteMeta('settled_at');
    this.#persist(-Infinity);
    this.settle(now);
  }

  /**
   * Compaction moved the base to the checkpoint of `day`: the store holds the state at the cut as the base,
   * and the scorer forgets the checkpoints before it.
   */
  rebase(day: number, info: Record<string, unknown>): LeadState | null {
    const scorer = this.#load();
    const cp = scorer.checkpoints.find((c) => c.day === day);
    if (!cp) return null;
    scorer.dropCheckpointsBefore(day);
    this.store.setMeta('base', JSON.stringify({ ...(this.store.meta('base') ? (JSON.parse(this.store.meta('base')!) as object) : {}), ...info, state: scorer.base }));
    this.#persist(Number.MAX_SAFE_INTEGER);
    return scorer.base;
  }

  /** Forget everything loaded: the store was cleared under us (a merge handed the lead away). */
  reset(): void {
    this.#scorer = null;
    this.#storedDays.clear();
  }
}

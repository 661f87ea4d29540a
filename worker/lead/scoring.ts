/**
 * Scoring: the shared engine's incremental Scorer, loaded from the store and written back at one commit
 * point. A batch's events, the compact state, the checkpoints it moved, the level history, the outbox rows and
 * the next due time are all written with no `await` in between, so they commit as one.
 *
 * A lead scored under another model is not rescored where it is read: it is marked for migration (a timer),
 * the alarm rescores it, and reads meanwhile answer from the summary stored at its last commit.
 */
import type { CompiledModel } from '../../shared/compile.js';
import { cloneState, compareEvents, initState, rebaseState, reviveState, serializeState, type FoldOutput, type LeadState, type LevelChange, type TypeResult } from '../../shared/engine.js';
import type { LeadEvent } from '../../shared/events.js';
import { Scorer, type EventLog } from '../../shared/scorer.js';
import { Holding } from './holding.js';
import type { LearnState } from '../../shared/learn/record.js';
import { stateMetas, type Store } from './store.js';

/**
 * Daily checkpoints for the last 8 days (a browser's queue sends up to 7 days late), older ones one per 4
 * weeks: each is a whole state, and at one a week they were most of a typical lead's storage. An older
 * backfill refolds from the 4-weekly one before it; compaction cuts at one.
 */
const SCORER_OPTIONS = { ledgers: false, dailyCheckpoints: 8, sparseEveryDays: 28 } as const;

/** What a commit changed, for the outbox and the answer. */
export interface Committed {
  added: string[];
  /** New events held back as a machine's (holding.ts). */
  held: number;
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
  /** The stored state's text `stale` last judged, and its verdict: every request asks, the text rarely changes. */
  #staleOf: string | undefined;
  #stale = false;
  readonly #holding: Holding;

  constructor(
    private readonly store: Store,
    private readonly model: CompiledModel,
    private readonly host: ScoringHost,
  ) {
    this.#holding = new Holding(store, model.holding);
  }

  /** Whether the lead has been scored at all. */
  get exists(): boolean {
    return this.store.meta('state') !== undefined;
  }

  /** Scored under another model (or another version of it): waiting for the alarm to rescore it. */
  get stale(): boolean {
    const text = this.store.meta('state');
    if (text !== this.#staleOf) {
      // A state stored before the learning record existed is rescored once too, so the record counts its history.
      this.#stale = this.exists && (!this.scoredUnder(this.model) || !this.store.state()?.learn);
      this.#staleOf = text;
    }
    return this.#stale;
  }

  /** Whether the stored state was scored under `model` (a version is its fingerprint and its number). */
  scoredUnder(model: CompiledModel): boolean {
    const s = this.store.state();
    return !!s && s.model === model.id && s.fingerprint === model.fingerprint && s.version === model.version;
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
      const { days: checkpoints, marks } = this.store.checkpoints();
      const b = this.store.meta('base');
      this.#scorer = new Scorer(this.model, this.#log, state ? { state, checkpoints, marks, base: b ? this.#parseBase(b) : null } : undefined, SCORER_OPTIONS);
    }
    return this.#scorer;
  }

  /** The base, and its learning record (a meta row apart, as the state's: store.ts). */
  #parseBase(text: string): LeadState {
    const base = reviveState((JSON.parse(text) as { state: LeadState }).state);
    const learn = this.store.meta('base_learn');
    if (learn) base.learn = JSON.parse(learn) as LearnState;
    return base;
  }

  #storeBase(info: Record<string, unknown>, state: LeadState): void {
    this.store.setMetas({ base: JSON.stringify({ ...info, state: { ...state, learn: undefined } }), ...(state.learn ? { base_learn: JSON.stringify(state.learn) } : {}) });
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
    const scorer = this.#load();
    const before = scorer.evaluate(receivedAt);
    const previousClock = scorer.state.clock;
    const horizon = this.horizon;
    // Stored first: the insert says which ids are new (the first of two with one id in a batch).
    const stored = this.store.insertEvents(events, receivedAt, horizon);
    const fresh: LeadEvent[] = [];
    const duplicates: string[] = [];
    for (const e of events) {
      if (stored.delete(e.messageId)) fresh.push(e);
      else duplicates.push(e.messageId);
    }
    const archived = fresh.filter((e) => e.timestamp < horizon);
    const scorable = archived.length ? fresh.filter((e) => e.timestamp >= horizon) : fresh;
    if (archived.length) {
      const perDay = new Map<number, number>();
      for (const e of archived) perDay.set(this.model.days.day(e.timestamp), (perDay.get(this.model.days.day(e.timestamp)) ?? 0) + 1);
      this.store.addRollups([...perDay].map(([day, n]) => ({ day, scoringType: '*', rule: 'archived', points: 0, events: n })));
    }
    // Machines' events are stored and not folded; a person's behaviour puts earlier ones back, at their times.
    const judged = this.#holding.judge(scorable, receivedAt);
    const folded = [...(judged.held.size ? scorable.filter((e) => !judged.held.has(e.messageId)) : scorable), ...judged.released];
    // None of these was folded before this batch.
    this.#known = new Set();
    const r = judged.retro.length
      ? // Events folded before are held now: the history since the earliest of them is folded again without them.
        // (What the old fold had and the log now lacks, and the other way round, for the learning record.)
        { ...scorer.refold(Math.min(...[...judged.retro, ...folded].map((e) => e.timestamp)), new Set(folded.map((e) => e.messageId)), judged.retro), rejoinedAt: null }
      : scorer.addMany(folded);
    this.#known = null;
    const changedFrom = r.rewoundTo ?? previousClock;
    if (r.rewoundTo !== null) this.store.replaceLevelsFrom(r.rewoundTo, r.changes, r.rejoinedAt ?? Infinity);
    else this.store.addLevels(r.changes);
    this.#persistCheckpoints(changedFrom);
    this.host.onChanges(r.changes, scorer.evaluate(Math.max(receivedAt, scorer.state.clock)), receivedAt);
    // The state is written with the summary, in one statement.
    const after = this.settle(receivedAt, true);
    return { added: fresh.map((e) => e.messageId), held: judged.held.size, duplicates, archived: archived.length, changes: r.changes, before, after };
  }

  #persist(changedFrom: number): void {
    this.store.setState(this.#scorer!.state);
    this.#persistCheckpoints(changedFrom);
  }

  /** Checkpoints of days before the one `changedFrom` falls in did not change. */
  #persistCheckpoints(changedFrom: number): void {
    const fromDay = Number.isFinite(changedFrom) ? this.model.days.day(changedFrom) : Number.MIN_SAFE_INTEGER;
    this.store.syncCheckpoints(this.#scorer!.checkpoints, this.#scorer!.marks, fromDay, changedFrom);
  }

  /**
   * Records what fell due by itself up to `now` (ladder steps; penalties show in the ledger on read) and
   * tells the host when the next change is due. Idempotent: a step already recorded is not recorded again.
   */
  settle(now: number, withState = false): TypeResult[] {
    const scorer = this.#load();
    const out: FoldOutput = { ledger: [], changes: [] };
    const results = scorer.evaluate(now, out);
    const settled = Number(this.store.meta('settled_at') ?? Number.MIN_SAFE_INTEGER);
    const fresh = out.changes.filter((c) => c.at > settled);
    if (fresh.length) {
      this.store.addLevels(fresh);
      this.host.onChanges(fresh, results, now);
    }
    const meta: Record<string, string> = { summary: JSON.stringify(results) };
    if (withState) Object.assign(meta, stateMetas(scorer.state));
    if (out.changes.length) meta.settled_at = String(Math.max(...out.changes.map((c) => c.at)));
    this.store.setMetas(meta);
    const next = Math.min(...results.map((r) => r.nextChangeAt ?? Infinity));
    this.host.onNextChange(Number.isFinite(next) ? Math.max(next, now + 1) : null);
    return results;
  }

  /**
   * Rescores the whole retained history under the deployment's model (from the stored baseline when older
   * history was compacted), its holds judged again under the model's holding settings. Runs in the alarm,
   * never on a read.
   */
  migrate(now: number): void {
    const old = this.store.state();
    if (!old) return;
    // The new model's holding settings decide what is held: stored verdicts were the old model's.
    this.#holding.rejudge(now);
    const { scorer, out, base, carried } = this.#rebuild(this.model);
    if (carried) this.#storeBase({ carried: true, cut: base.clock, model: { id: old.model, version: old.version } }, base);
    this.#scorer = scorer;
    this.store.replaceLevelsFrom(base.clock, out.changes);
    this.store.deleteMeta('settled_at');
    this.#persist(-Infinity);
    this.settle(now);
  }

  /**
   * The lead as `model` would score it now: its retained history folded from the stored baseline (or from
   * nothing), as `migrate` folds it, with nothing written — the impact preview of a draft.
   */
  preview(model: CompiledModel, now: number): { results: TypeResult[]; learn: LearnState | undefined } | null {
    if (!this.exists) return null;
    // The draft's holding settings decide what it would hold, as `migrate` judges them again on publishing.
    // (Compared as written: the compiled settings hold functions.) The same settings: the stored verdicts stand.
    const same = JSON.stringify(model.source.holding ?? null) === JSON.stringify(this.model.source.holding ?? null);
    const events = same ? null : this.#holding.underOther(model.holding);
    const { scorer } = this.#rebuild(model, events ? (base) => events.filter((e) => compareEvents(e, { timestamp: base.clock, messageId: base.lastId } as LeadEvent) > 0) : undefined);
    return { results: scorer.evaluate(now), learn: scorer.state.learn };
  }

  /** `after`: the events to fold after the base (default: the stored scorable ones, in order). */
  #rebuild(model: CompiledModel, after?: (base: LeadState) => Iterable<LeadEvent>) {
    const b = this.store.meta('base');
    const base = b ? rebaseState(model, this.#parseBase(b)) : initState(model);
    const scorer = new Scorer(model, this.#log, { state: cloneState(base), checkpoints: [], base }, SCORER_OPTIONS);
    const out = scorer.rebuild(after ? after(base) : this.store.eventsAfter(base.clock, base.lastId), base);
    return { scorer, out, base, carried: !!b };
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
    // Checkpoints keep no learning record: the base's is the record with the retained history's counts out.
    scorer.base = { ...scorer.base, learn: scorer.recordAt(scorer.base) };
    this.#storeBase({ ...(this.store.meta('base') ? (JSON.parse(this.store.meta('base')!) as object) : {}), ...info }, scorer.base);
    this.#persist(Number.MAX_SAFE_INTEGER);
    return scorer.base;
  }

  /** Forget everything loaded: the store was cleared under us (a merge handed the lead away). */
  reset(): void {
    this.#scorer = null;
  }
}

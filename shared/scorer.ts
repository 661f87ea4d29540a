/**
 * The incremental form. Events that arrive in order (nearly all of them: browsers send as things happen) are
 * folded straight into the compact state. A late event — one timed before something already folded — rewinds
 * to the newest checkpoint before it and refolds what came after, so the result is exactly what a full
 * recomputation gives, at the cost of the events since that checkpoint, not of the whole history.
 *
 * Checkpoints are whole compact states taken at the first event of each day; the newest `dailyCheckpoints` are
 * kept (one week covers everything a browser may send late), older ones thinned to one per `sparseEveryDays`.
 * Within those recent days a busy day also gets a **mark** every `markEvery` events (a state between two events):
 * a late event then rewinds to the mark before it rather than to its day's start, and its refold can stop at the
 * next mark where the state is what it was — tens of events instead of a whole day's hundreds. A lead with a few
 * events a day has no marks at all.
 */
import type { LeadEvent } from './events.js';
import type { CompiledModel } from './compile.js';
import { cloneState, compareEvents, evaluate, fold, initState, isInOrder, serializeState, type FoldOutput, type LedgerEntry, type LevelChange, type LeadState, type TypeResult } from './engine.js';

/** Where a Scorer keeps raw events; the Durable Object implements it on SQLite. */
export interface EventLog {
  has(messageId: string): boolean;
  /** Optional: which of these ids are stored, in one look-up (else `has` is asked for each). */
  known?(messageIds: string[]): Set<string>;
  add(e: LeadEvent): void;
  /** Optional: store several at once (else `add` is called for each). */
  addAll?(events: LeadEvent[]): void;
  /** Events in engine order (time, then messageId) strictly after (t, id); all of them when t is -Infinity. */
  after(t: number, id: string): Iterable<LeadEvent>;
}

export interface Checkpoint {
  day: number;
  state: LeadState;
}

export interface ScorerOptions {
  dailyCheckpoints?: number;
  sparseEveryDays?: number;
  /** Collect each event's ledger entries (default true). The Durable Object derives ledgers on read instead. */
  ledgers?: boolean;
  /** Events between marks within a day of the recent days (default 64; 0: no marks). */
  markEvery?: number;
}

export interface AddResult {
  /** New events (not seen before), in the order given. */
  added: string[];
  /** Events whose messageId was already known: ignored. */
  duplicates: string[];
  /** The instant history was rewound to for late events (everything after it was refolded); null when in order. */
  rewoundTo: number | null;
  /**
   * Where the refold stopped because it had rejoined what was folded before (the late events changed nothing
   * after this instant; their level changes are those already recorded); null when it ran to the end.
   */
  rejoinedAt: number | null;
  /** Events refolded because others came late (0 when all were in order). */
  refolded: number;
  /** Points of every event folded by this call, new or refolded, by messageId. */
  ledgers: Map<string, LedgerEntry[]>;
  /** Level changes of the folded stretch, and penalties that fell due in it. */
  changes: LevelChange[];
  timed: LedgerEntry[];
}

/** What a rewind set aside: the old fold's later checkpoints and marks, and its state. */
interface Before {
  checkpoints: Checkpoint[];
  marks: LeadState[];
  state: LeadState;
}

export class MemoryLog implements EventLog {
  #byId = new Map<string, LeadEvent>();
  #sorted: LeadEvent[] = [];
  has(id: string): boolean {
    return this.#byId.has(id);
  }
  add(e: LeadEvent): void {
    this.#byId.set(e.messageId, e);
    let i = this.#sorted.length;
    while (i > 0 && compareEvents(this.#sorted[i - 1], e) > 0) i--;
    this.#sorted.splice(i, 0, e);
  }
  *after(t: number, id: string): Iterable<LeadEvent> {
    for (const e of this.#sorted) if (e.timestamp > t || (e.timestamp === t && e.messageId > id)) yield e;
  }
  get size(): number {
    return this.#sorted.length;
  }
}

export class Scorer {
  state: LeadState;
  checkpoints: Checkpoint[] = [];
  /**
   * Marks: states after the event at their `clock` (within the days that keep daily checkpoints), oldest first.
   * Each is exact, wherever it was taken, so they need not fall at the same places in every fold.
   */
  marks: LeadState[] = [];
  /**
   * Where history starts: the initial state, or the state at the cut after older raw events were compacted
   * away. A late event before every checkpoint rewinds to it.
   */
  base: LeadState;
  readonly #daily: number;
  readonly #sparse: number;
  readonly #ledgers: boolean;
  readonly #markEvery: number;
  /** Events folded since the last checkpoint or mark. */
  #sinceMark = 0;

  constructor(
    readonly model: CompiledModel,
    readonly log: EventLog,
    saved?: { state: LeadState; checkpoints: Checkpoint[]; marks?: LeadState[]; base?: LeadState | null },
    opts: ScorerOptions = {},
  ) {
    this.base = saved?.base ?? initState(model);
    this.state = saved?.state ?? cloneState(this.base);
    this.checkpoints = saved?.checkpoints ?? [];
    this.marks = saved?.marks ?? [];
    this.#daily = opts.dailyCheckpoints ?? 8;
    this.#sparse = opts.sparseEveryDays ?? 7;
    this.#ledgers = opts.ledgers ?? true;
    this.#markEvery = opts.markEvery ?? 64;
  }

  /**
   * Scores a whole history again from `base` (a new lead, a changed model): `events` in engine order, read
   * lazily so a long history is never held in memory at once. Checkpoints are made anew on the way.
   */
  rebuild(events: Iterable<LeadEvent>, base: LeadState = this.base): FoldOutput {
    this.base = base;
    this.state = cloneState(base);
    this.checkpoints = [];
    this.marks = [];
    this.#sinceMark = 0;
    const out: FoldOutput = { ledger: [], changes: [] };
    for (const e of events) {
      const r = this.#foldOne(e);
      if (this.#ledgers) out.ledger.push(...r.ledger);
      out.changes.push(...r.changes);
    }
    return out;
  }

  /**
   * History before the checkpoint of `day` was compacted away: that checkpoint becomes the base, and the ones
   * before it are forgotten.
   */
  dropCheckpointsBefore(day: number): void {
    const i = this.checkpoints.findIndex((c) => c.day >= day);
    if (i < 0) return;
    this.checkpoints = this.checkpoints.slice(i);
    this.base = this.checkpoints[0].state;
    const start = this.checkpoints[0].state.clock;
    this.marks = this.marks.filter((m) => m.clock > start);
  }

  #foldOne(e: LeadEvent): FoldOutput {
    const day = this.model.days.day(e.timestamp);
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (this.state.clock > -Infinity && (!last || last.day < day) && this.model.days.day(this.state.clock) < day) {
      this.checkpoints.push({ day, state: cloneState(this.state) });
      this.#thin(day);
      this.#sinceMark = 0;
    } else if (this.#markEvery && ++this.#sinceMark >= this.#markEvery && e.timestamp > this.state.clock) {
      // Between two instants (never inside a run of one instant), so each mark's clock is its own.
      this.marks.push(cloneState(this.state));
      this.#sinceMark = 0;
    }
    return fold(this.model, this.state, e);
  }

  #thin(today: number): void {
    const keepAllFrom = today - this.#daily + 1;
    if (this.marks.length && this.model.days.day(this.marks[0].clock) < keepAllFrom) this.marks = this.marks.filter((m) => this.model.days.day(m.clock) >= keepAllFrom);
    let lastKept = -Infinity;
    this.checkpoints = this.checkpoints.filter((c) => {
      if (c.day >= keepAllFrom || c.day - lastKept >= this.#sparse) {
        if (c.day < keepAllFrom) lastKept = c.day;
        return true;
      }
      return false;
    });
  }

  /** Adds one event: ignored if its messageId was seen, folded if in order, else rewound and refolded. */
  add(e: LeadEvent): AddResult {
    return this.addMany([e]);
  }

  /**
   * Adds events (any order, duplicates allowed). In-order events are folded directly; if any is late, history
   * is rewound once, to the newest checkpoint before the earliest of them, and refolded.
   */
  addMany(events: readonly LeadEvent[]): AddResult {
    const out: AddResult = { added: [], duplicates: [], rewoundTo: null, rejoinedAt: null, refolded: 0, ledgers: new Map(), changes: [], timed: [] };
    const fresh: LeadEvent[] = [];
    const seen = new Set<string>();
    const stored = this.log.known?.(events.map((e) => e.messageId));
    for (const e of events) {
      if (seen.has(e.messageId) || (stored ? stored.has(e.messageId) : this.log.has(e.messageId))) out.duplicates.push(e.messageId);
      else {
        seen.add(e.messageId);
        fresh.push(e);
        out.added.push(e.messageId);
      }
    }
    if (!fresh.length) return out;
    fresh.sort(compareEvents);
    if (this.log.addAll) this.log.addAll(fresh);
    else for (const e of fresh) this.log.add(e);
    const collect = (e: LeadEvent) => {
      const r = this.#foldOne(e);
      if (this.#ledgers) {
        out.ledgers.set(e.messageId, r.ledger.filter((x) => x.messageId === e.messageId));
        out.timed.push(...r.ledger.filter((x) => x.messageId === undefined));
      }
      out.changes.push(...r.changes);
    };
    if (isInOrder(this.state, fresh[0])) {
      for (const e of fresh) collect(e);
      return out;
    }
    const before = this.#rewind(fresh[0].timestamp);
    out.rewoundTo = this.state.clock;
    let folded = 0;
    for (const x of this.log.after(this.state.clock, this.state.lastId)) {
      // Once every new event is folded, a day or a mark whose state is what it was before the new events came
      // will fold as it did: the rest of the old fold stands.
      const at = this.state.clock;
      if (folded === fresh.length && this.#rejoin(before, x)) {
        out.rejoinedAt = at;
        return out;
      }
      collect(x);
      if (seen.has(x.messageId)) folded++;
      else out.refolded++;
    }
    return out;
  }

  /**
   * Rewinds to the newest checkpoint taken on or before the day of instant `t` (a checkpoint holds the state
   * before that day's first event), else the beginning; refolding re-creates the checkpoints after it. Returns
   * what was there before.
   */
  #rewind(t: number): Before {
    const day = this.model.days.day(t);
    let i = this.checkpoints.length - 1;
    while (i >= 0 && this.checkpoints[i].day > day) i--;
    const from = i >= 0 ? this.checkpoints[i].state : this.base;
    // The newest mark strictly before t, if it is later than that checkpoint: the refold starts there.
    let m = this.marks.length - 1;
    while (m >= 0 && this.marks[m].clock >= t) m--;
    const mark = m >= 0 && this.marks[m].clock > from.clock ? this.marks[m] : null;
    const before: Before = { checkpoints: this.checkpoints.slice(i + 1), marks: this.marks.slice(m + 1), state: this.state };
    this.checkpoints = this.checkpoints.slice(0, i + 1);
    this.marks = this.marks.slice(0, m + 1).filter((x) => x.clock <= (mark ?? from).clock);
    this.state = cloneState(mark ?? from);
    this.#sinceMark = 0;
    return before;
  }

  /**
   * The log changed from instant `t` on in a way `addMany` cannot tell (events taken out of the scored history:
   * a machine's, held after they were folded): rewinds to before `t` and refolds everything the log now holds.
   */
  refold(t: number): { rewoundTo: number; changes: LevelChange[] } {
    this.#rewind(t);
    const rewoundTo = this.state.clock;
    const changes: LevelChange[] = [];
    for (const x of this.log.after(this.state.clock, this.state.lastId)) changes.push(...this.#foldOne(x).changes);
    return { rewoundTo, changes };
  }

  /**
   * Before folding `next`: if it opens a day that had a checkpoint in the old fold, and the state now equals
   * that checkpoint, the old fold from that checkpoint on is taken back as it is — those checkpoints are not
   * even rewritten. Exact: the state is all a fold depends on, and the events from there on are the same ones.
   */
  #rejoin(before: Before, next: LeadEvent): boolean {
    if (this.state.clock === -Infinity) return false;
    const day = this.model.days.day(next.timestamp);
    const today = this.model.days.day(this.state.clock);
    let k = -1;
    if (today < day) {
      k = before.checkpoints.findIndex((c) => c.day === day);
      if (k < 0 || serializeState(before.checkpoints[k].state) !== serializeState(this.state)) return false;
    } else {
      // Inside a day: a mark of the old fold at this very place (after the same event), with the same state.
      const j = before.marks.findIndex((m) => m.clock === this.state.clock && m.lastId === this.state.lastId);
      if (j < 0 || serializeState(before.marks[j]) !== serializeState(this.state)) return false;
      k = before.checkpoints.findIndex((c) => c.day > today);
      if (k < 0) k = before.checkpoints.length;
    }
    this.checkpoints.push(...before.checkpoints.slice(k));
    this.marks = [...this.marks.filter((m) => m.clock < this.state.clock), ...before.marks.filter((m) => m.clock >= this.state.clock)];
    this.#thin(this.model.days.day(before.state.clock));
    this.state = before.state;
    return true;
  }

  evaluate(now: number, out: FoldOutput | null = null): TypeResult[] {
    return evaluate(this.model, this.state, now, out);
  }
}

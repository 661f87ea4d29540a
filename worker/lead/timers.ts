/**
 * Time as data: every due time of the lead is a row (`kind`, `key`, `due_at`, `payload`) — the next
 * self-driven level change, compaction, a merge to confirm, an outbox retry, a model migration, a team's SLA — and the one
 * Durable Object alarm is derived from the earliest. Handlers are idempotent: an alarm may run twice, or
 * late, or early (it then finds nothing due and sets itself again).
 */
import type { Store, TimerRow } from './store.js';

export type TimerKind = 'score' | 'compact' | 'merge' | 'outbox' | 'migrate' | 'sla';

export class Timers {
  /**
   * The alarm as this object last set it (undefined: not known since the object loaded). Only read to avoid
   * rewriting an alarm that is already early enough.
   */
  #alarmAt: number | null | undefined;

  constructor(
    private readonly store: Store,
    private readonly storage: DurableObjectStorage,
  ) {}

  /** Loads the platform's alarm once, so an unchanged one is not rewritten after an eviction. */
  async load(): Promise<void> {
    this.#alarmAt = await this.storage.getAlarm();
  }

  /**
   * The table's rows, read once per object life: every batch asks about a timer or two, and the table is
   * small (one row per kind, one per unfinished merge).
   */
  #rows: Map<string, TimerRow> | null = null;
  #cache(): Map<string, TimerRow> {
    return (this.#rows ??= new Map(this.store.timers().map((t) => [`${t.kind}\u0000${t.key}`, t])));
  }

  /**
   * Sets a timer; writes nothing when it already holds that due time. `wakeBy`: the row only means "look
   * again no later than this", so a later time leaves it (and the alarm) as it is — its handler recomputes
   * and sets the true time. That keeps a batch that moves the next level change later from writing at all.
   */
  set(kind: TimerKind, dueAt: number | null, key = '', payload: string | null = null, wakeBy = false): void {
    const id = `${kind}\u0000${key}`;
    const current = this.#cache().get(id);
    if (dueAt === null || !Number.isFinite(dueAt)) {
      if (current && !wakeBy) this.clear(kind, key);
      return;
    }
    if (current && current.payload === payload && (current.dueAt === dueAt || (wakeBy && current.dueAt < dueAt))) return;
    this.store.setTimer(kind, key, dueAt, payload);
    this.#cache().set(id, { kind, key, dueAt, payload });
    this.#pull(dueAt);
  }

  clear(kind: TimerKind, key = ''): void {
    if (this.#cache().delete(`${kind}\u0000${key}`)) this.store.deleteTimer(kind, key);
  }

  get(kind: TimerKind, key = ''): TimerRow | undefined {
    return this.#cache().get(`${kind}\u0000${key}`);
  }

  /** The store was cleared under us. */
  reset(): void {
    this.#rows = null;
  }

  due(now: number): TimerRow[] {
    return [...this.#cache().values()].filter((t) => t.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt);
  }

  /**
   * The alarm only ever moves earlier on the hot path: a later due time leaves an early alarm in place, which
   * is harmless (it fires, finds nothing due, and `rearm` sets the right one).
   */
  #pull(dueAt: number): void {
    if (this.#alarmAt !== undefined && this.#alarmAt !== null && this.#alarmAt <= dueAt) return;
    void this.storage.setAlarm(dueAt);
    this.#alarmAt = dueAt;
  }

  /** At the end of `alarm()` and after clearing timers: the alarm is exactly the earliest row. */
  rearm(): void {
    const next = Math.min(...[...this.#cache().values()].map((t) => t.dueAt));
    return this.#arm(Number.isFinite(next) ? next : null);
  }

  #arm(next: number | null): void {
    if (next === this.#alarmAt) return;
    if (next === null) void this.storage.deleteAlarm();
    else void this.storage.setAlarm(next);
    this.#alarmAt = next;
  }

  /** The alarm fired: the platform cleared it. */
  fired(): void {
    this.#alarmAt = null;
  }
}

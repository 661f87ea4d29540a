/**
 * The outbox: news other systems must hear about this lead (the D1 lead index; each team destination's
 * notifications, as `notify:<team>:<index>`),
 * written in the same commit as the change that caused it and delivered afterwards by the alarm. At least
 * once, in order per destination: a row leaves the outbox only when its destination took it; a failure
 * backs off (exponential, with jitter) and blocks the rows behind it on that destination only.
 */
import type { HandedNotification } from '../../shared/api.js';
import type { Store, OutboxRow } from './store.js';
import type { Timers } from './timers.js';

export type Deliver = (row: OutboxRow) => Promise<void>;

/** First retry after 2 s, doubling to at most an hour between tries. */
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 3_600_000;

export function retryDelay(attempts: number, random = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempts);
  // "Full jitter" spreads retries of many leads after a shared outage (AWS architecture blog, 2015).
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class Outbox {
  constructor(
    private readonly store: Store,
    private readonly timers: Timers,
    private readonly destinations: Record<string, Deliver>,
  ) {}

  /** Part of the caller's commit: the row and the timer that delivers it land with the change. */
  enqueue(dest: string, kind: string, payload: unknown, now: number): void {
    this.store.enqueue(dest, kind, JSON.stringify(payload), now);
    const t = this.timers.get('outbox');
    if (!t || t.dueAt > now) this.timers.set('outbox', now);
  }

  /** Part of the caller's commit: a row another lead handed over (merge.ts), due when it was due there. */
  adopt(row: HandedNotification, id: string): void {
    if (!this.store.adoptNotification(row, id)) return;
    const t = this.timers.get('outbox');
    if (!t || t.dueAt > row.nextAt) this.timers.set('outbox', row.nextAt);
  }

  /**
   * Part of the caller's commit, for news that is a snapshot (the lead's index row): when an earlier snapshot is
   * still waiting, it is replaced rather than followed by another row (`merge` combines the two), so a busy lead
   * writes its index row at most once per delivery, with the latest state.
   */
  enqueueSnapshot<T>(dest: string, kind: string, payload: T, merge: (queued: T, next: T) => T, at: number): void {
    const last = this.store.lastQueued(dest);
    if (last && last.kind === kind) this.store.requeue(last.seq, JSON.stringify(merge(JSON.parse(last.payload) as T, payload)), at);
    else this.store.enqueue(dest, kind, JSON.stringify(payload), at);
    const t = this.timers.get('outbox');
    const due = !last || last.kind !== kind ? at : last.attempts === 0 ? Math.min(at, last.nextAt) : last.nextAt;
    if (!t || t.dueAt > due) this.timers.set('outbox', due);
  }

  /** Delivers what is due, each destination in order; reschedules itself for what is left. */
  async deliver(now: number): Promise<void> {
    for (;;) {
      const heads = this.store.outboxHeads().filter((h) => h.nextAt <= now);
      if (!heads.length) break;
      let progressed = false;
      await Promise.all(
        heads.map(async (row) => {
          // A family of destinations shares one sender: `notify:sdr:0` is delivered by `notify`.
          const send = this.destinations[row.dest] ?? this.destinations[row.dest.split(':')[0]];
          try {
            if (!send) throw new Error(`no destination "${row.dest}" in this deployment`);
            await send(row);
            this.store.delivered(row.seq);
            progressed = true;
          } catch (err) {
            this.store.deferDelivery(row.seq, Date.now() + retryDelay(row.attempts), err instanceof Error ? err.message : String(err));
          }
        }),
      );
      if (!progressed) break;
    }
    const next = Math.min(...this.store.outboxHeads().map((h) => h.nextAt));
    this.timers.set('outbox', Number.isFinite(next) ? next : null);
  }

  pending(): OutboxRow[] {
    return this.store.outbox();
  }
}

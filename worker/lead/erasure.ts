/**
 * Erasure (SPEC "Privacy operations"): a lead is erased everywhere — its own object, the object of every id
 * merged into it, its row in the lead index, its keys in the lead directory, and whatever news was still queued in its outbox — and events
 * arriving later for any of those ids are dropped until a quarantine ends (a tracker still running on the
 * person's browser must not bring them back the next minute).
 *
 * The lead's object runs it: the ids merged into it first (each empties itself and keeps only its quarantine
 * mark), then the index rows, then itself. Run again, it finds what is left and finishes.
 */
import type { ErasureReceipt } from '../../shared/api.js';
import type { Store } from './store.js';

export interface ErasureHost {
  key(): string;
  publicId(): string;
  /** Empties another id's object and marks it (over RPC). */
  eraseOther(key: string, quarantineUntil: number): Promise<void>;
  /** Removes these keys' rows from the lead index. */
  unindex(keys: string[]): Promise<void>;
  /** Removes these keys from the lead directory (worker/directory.ts). */
  deregister(keys: string[]): Promise<void>;
  /** Deletes the alarm: nothing is due any more. */
  stopAlarm(): Promise<void>;
}

export class Erasure {
  constructor(
    private readonly store: Store,
    private readonly host: ErasureHost,
  ) {}

  /** Whether events for this id are being dropped now (an erased lead in quarantine). */
  quarantined(now: number): boolean {
    const until = this.store.erasedUntil();
    if (until === undefined) return false;
    if (now < until) return true;
    this.store.endQuarantine();
    return false;
  }

  async erase(now: number, quarantineMs: number): Promise<ErasureReceipt> {
    const until = now + quarantineMs;
    const key = this.host.key();
    const id = this.host.publicId();
    const others = this.store.allAliases().filter((k) => k !== key);
    const events = this.store.eventCount();
    for (const other of others) await this.host.eraseOther(other, until);
    await this.host.unindex([key, ...others]);
    await this.host.deregister([key, ...others]);
    this.store.erase(until);
    await this.host.stopAlarm();
    return { id, keys: [key, ...others], events, erasedAt: now, quarantineUntil: until };
  }

  /** Another lead's erasure reached this id: empty it, whatever it held, and mark it. */
  async eraseHere(until: number): Promise<void> {
    this.store.erase(until);
    await this.host.stopAlarm();
  }
}

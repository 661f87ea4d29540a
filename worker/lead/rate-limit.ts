/**
 * Rate limits that hold: token buckets stored in the lead's own table, so an eviction or a restart of the
 * object does not hand a flooding visitor a fresh allowance. Decided before anything of the batch is stored.
 */
import type { Store } from './store.js';

export class RateLimit {
  constructor(
    private readonly store: Store,
    private readonly perMinute: number,
  ) {}

  /**
   * Takes `n` tokens from bucket `name` at `now`: 0 when allowed, else the seconds to wait. A refused request
   * takes nothing, and nothing is written for it.
   */
  take(name: string, n: number, now: number): number {
    const cap = this.perMinute;
    const rate = cap / 60_000;
    const b = this.store.bucket(name);
    const tokens = b ? Math.min(cap, b.tokens + Math.max(0, now - b.at) * rate) : cap;
    if (n <= tokens) {
      // A bucket untouched for a while is full again: its row can go (one per visitor otherwise piles up).
      if (!b) this.store.dropBucketsBefore(now - 2 * 60_000);
      this.store.setBucket(name, tokens - n, now);
      return 0;
    }
    return Math.max(1, Math.ceil((Math.min(n, cap) - tokens) / rate / 1000));
  }
}

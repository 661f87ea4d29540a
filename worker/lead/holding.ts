/**
 * Holding: the lead's machine events (shared/holding.ts says which and why), kept in the events table's `held`
 * and `released_at` columns. Called inside the scoring commit with a batch's new events, it writes their holds,
 * holds stored events that the batch shows were a scanner's (a delivery or a burst arriving after the click), and
 * releases the held ones a person's behaviour in the batch speaks for. The verdicts are a function of the stored
 * events alone, so a retry (a duplicate, not judged again), a restart (all of it is in SQLite) or a merge (the
 * receiving lead judges the handed-over events the same way) gives the same result.
 */
import { compareEvents } from '../../shared/engine.js';
import type { LeadEvent } from '../../shared/events.js';
import { holdsOf, isHuman, isTimed, ownHold, timingHolds, type CompiledHolding, type Hold } from '../../shared/holding.js';
import type { Store, StoredEvent } from './store.js';

export interface Judgement {
  /** New events held: not to be folded. */
  held: Set<string>;
  /** Stored events folded before and held now: the history is refolded without them. */
  retro: LeadEvent[];
  /** Stored events a person's behaviour released: folded at their own times. */
  released: LeadEvent[];
}

/** Meta flag: some held event may still be released (a timing hold). */
const RELEASABLE = 'holds_releasable';

/** Events read back from the newest when looking for the lead's latest person's behaviour. */
const PAGE = 200;
/** Events per read when a new model judges the whole retained history again. */
const REJUDGE_PAGE = 500;

export class Holding {
  constructor(
    private readonly store: Store,
    private readonly h: CompiledHolding,
  ) {}

  judge(fresh: readonly LeadEvent[], now: number): Judgement {
    const out: Judgement = { held: new Set(), retro: [], released: [] };
    if (!this.h.enabled || !fresh.length) return out;
    const byId = new Map(fresh.map((e) => [e.messageId, e]));
    const holds = new Map<string, Hold>();
    for (const e of fresh) {
      const own = ownHold(this.h, e);
      if (own) holds.set(e.messageId, own);
    }
    const later: { e: StoredEvent; hold: Hold }[] = [];
    for (const group of this.#neighbourhoods(fresh)) {
      const timed = timingHolds(this.h, group.map((e) => ({ e, own: (byId.has(e.messageId) ? holds.get(e.messageId) : e.held) ?? null })));
      for (const e of group) {
        const hold = timed.get(e.messageId);
        if (!hold) continue;
        if (byId.has(e.messageId)) {
          if (!holds.has(e.messageId)) holds.set(e.messageId, hold);
        } else if (!e.held) later.push({ e, hold });
      }
    }

    const humans = fresh.filter((e) => isHuman(this.h, e, holds.get(e.messageId)));
    const lastHuman = Math.max(-Infinity, ...humans.map((e) => e.timestamp));
    // A releasable hold with a person's behaviour at or after it is released at once (it was a person's).
    const releasable = [...[...holds].filter(([, hold]) => !hold.permanent).map(([id]) => byId.get(id)!.timestamp), ...later.filter((x) => !x.hold.permanent).map((x) => x.e.timestamp)];
    // Those the batch's own person's behaviour does not cover look for a stored one at or after the earliest of them.
    const pending = releasable.filter((t) => t > lastHuman);
    const person = pending.length ? Math.max(lastHuman, this.#latestPerson(Math.min(...pending), holds)) : lastHuman;
    const rows: { messageId: string; hold: Hold; releasedAt: number | null }[] = [];
    for (const [id, hold] of holds) {
      const released = !hold.permanent && byId.get(id)!.timestamp <= person;
      rows.push({ messageId: id, hold, releasedAt: released ? now : null });
      if (!released) out.held.add(id);
    }
    for (const { e, hold } of later) {
      const released = !hold.permanent && e.timestamp <= person;
      rows.push({ messageId: e.messageId, hold, releasedAt: released ? now : null });
      if (!released) out.retro.push(e);
    }
    this.store.setHolds(rows);
    if (rows.some((r) => !r.hold.permanent && r.releasedAt === null)) this.store.setMeta(RELEASABLE, '1');

    // Most batches have a page view; few leads have anything to release (the flag is in the cached meta).
    if (humans.length && this.store.meta(RELEASABLE)) {
      out.released = this.store.openHolds(lastHuman).filter((e) => !e.held!.permanent);
      this.store.release(out.released.map((e) => e.messageId), now);
      if (!this.store.openHolds(Number.MAX_SAFE_INTEGER).some((e) => !e.held!.permanent)) this.store.deleteMeta(RELEASABLE);
    }
    return out;
  }

  /**
   * A new model (its `holding` settings changed, or holding turned off): every retained event is judged again
   * by the whole-history rule (`holdsOf`), read in bounded pages, and the held/released columns rewritten.
   * Part of the migration's commit, before the rebuild folds what is not held. Released holds are released at
   * `now`; events the new settings do not hold are plain events again.
   */
  rejudge(now: number): void {
    const events = this.#retained();
    const holds = this.h.enabled ? holdsOf(this.h, events) : new Map<string, Hold & { released: boolean }>();
    this.store.clearHolds();
    this.store.setHolds([...holds].map(([messageId, hold]) => ({ messageId, hold, releasedAt: hold.released ? now : null })));
    if ([...holds.values()].some((x) => !x.permanent && !x.released)) this.store.setMeta(RELEASABLE, '1');
    else this.store.deleteMeta(RELEASABLE);
  }

  /** Every retained event (with a body), read in bounded pages. */
  #retained(): LeadEvent[] {
    const events: LeadEvent[] = [];
    for (let seq = 0; ; ) {
      const page = this.store.eventsBySeq(seq, REJUDGE_PAGE);
      for (const { receivedAt: _r, seq: _s, ...e } of page) events.push(e);
      if (page.length < REJUDGE_PAGE) break;
      seq = page[page.length - 1].seq;
    }
    return events;
  }

  /**
   * The retained events other holding settings would fold, in the engine's order, judged by the whole-history
   * rule and nothing written (a draft's preview).
   */
  underOther(h: CompiledHolding): LeadEvent[] {
    const events = this.#retained();
    const holds = h.enabled ? holdsOf(h, events) : new Map<string, Hold & { released: boolean }>();
    return events.filter((e) => holds.get(e.messageId)?.released ?? true).sort(compareEvents);
  }

  /**
   * The stored opens, clicks and deliveries within reach of the new ones (the longer of the two timing windows),
   * in groups of nearby times: every timing hold that involves a new event lies inside one.
   */
  #neighbourhoods(fresh: readonly LeadEvent[]): StoredEvent[][] {
    const reach = Math.max(this.h.deliveryMs, this.h.burst?.ms ?? 0);
    const times = fresh.filter(isTimed).map((e) => e.timestamp).sort((a, b) => a - b);
    if (!reach || !times.length) return [];
    const spans: [number, number][] = [];
    for (const t of times) {
      const last = spans[spans.length - 1];
      if (last && t - last[1] <= 2 * reach) last[1] = t;
      else spans.push([t, t]);
    }
    return spans.map(([lo, hi]) => this.store.emailEventsBetween(lo - reach, hi + reach).filter(isTimed));
  }

  /** The time of the lead's latest person's behaviour, if at or after `since` (-Infinity otherwise). */
  #latestPerson(since: number, fresh: Map<string, Hold>): number {
    let cursor: { ts: number; id: string } | null = null;
    for (;;) {
      const page = this.store.eventsNewestFirst(PAGE, cursor);
      for (const e of page) {
        if (e.timestamp < since) return -Infinity;
        if (isHuman(this.h, e, e.held ?? fresh.get(e.messageId))) return e.timestamp;
      }
      if (page.length < PAGE) return -Infinity;
      const last = page[page.length - 1];
      cursor = { ts: last.timestamp, id: last.messageId };
    }
  }
}

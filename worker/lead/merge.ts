/**
 * Identity merges. Every id a lead is known by has an object of its own; when a batch links two ids, the
 * more definite one (userId, then email, then anonymous) takes in the other's history and the other forwards
 * to it from then on.
 *
 * The protocol cannot strand history: the giver hands its events over in bounded pages (by insertion order,
 * so events stored while the merge runs are included), the receiver commits each page, and only when the
 * receiver holds everything does the giver start forwarding and drop its copy (`completeHandOver`). A merge
 * interrupted anywhere is simply run again — by the next batch, or by the receiver's `merge` timer — and the
 * receiver's dedupe makes the repeat harmless. Merges always go from more definite ids to less definite ones,
 * never back, so two objects never wait on each other.
 *
 * The giver's queued notifications go too: the pages carry them (same message id, attempts, retry time and
 * queued time, so the receiver's retries dedupe and end as the giver's would have), the receiver commits them
 * with the page, and the giver forwards only once none is left that the receiver has not taken. One the giver
 * delivered meanwhile may be sent again by the receiver, under the same id: at least once, as every delivery.
 * The first page also says where the giver stood (its levels and stages), so the receiver notifies only a move
 * beyond both leads' places, not the giver's old news again, and carries the giver's response SLAs, which go on
 * at the receiver (sla.ts, `adopt`): an SLA a team owes does not vanish because the lead got a second id.
 */
import type { AbsorbResult, HandedNotification, LevelMark, SlaRecord } from '../../shared/api.js';
import type { KeyKind } from '../../shared/api.js';
import { mergedMessageId, type LeadEvent } from '../../shared/events.js';
import { Store } from './store.js';
import type { Timers } from './timers.js';

/** Events per hand-over page: well inside one RPC message and the 100-parameter statements. */
export const HANDOVER_PAGE = 500;
/** Queued notifications per hand-over page. */
export const HANDOVER_NOTIFICATIONS = 100;
/** Merged-in ids handed over with the first page; a lead known by more keeps forwarding through the giver. */
export const HANDOVER_ALIASES = 200;
/** A message stored in both leads is the same one if its body matches and its times are this close (skew correction moves a retry by milliseconds). */
const SAME_MESSAGE_MS = 10 * 60_000;

/** A merge the batch could not finish is retried this much later by the receiver's timer. */
const MERGE_RETRY_MS = 30_000;

/** userId leads are the most definite, then email, then anonymous. */
export const rank = (key: string) => (key.startsWith('u:') ? 3 : key.startsWith('e:') ? 2 : 1);

/** The giver's side, reached over RPC. */
export interface Giver {
  /** `outboxAfter`: the giver's queued notifications after this outbox row are handed over too. */
  handOver(into: string, afterSeq: number, source: KeyKind, outboxAfter?: number): Promise<AbsorbResult>;
  completeHandOver(into: string, lastSeq: number, outboxSeq?: number): Promise<AbsorbResult>;
}

export interface MergeHost {
  key(): string;
  giver(key: string): Giver;
  /** Commits one page of the giver's history into this lead (synchronous: one commit); `giverSlas`: the first page's. */
  absorb(from: string, events: LeadEvent[], aliases: string[], notifications: HandedNotification[], giverLevels: LevelMark[] | null, giverSlas: SlaRecord[]): void;
  /** Where this lead stands now (giver side), for the receiver's notifications. */
  levels(): LevelMark[] | null;
  /** This lead's response SLAs (giver side), continued by the receiver. */
  slas(): SlaRecord[];
  /** Whether this lead already carries a known id (userId or email). */
  known(): boolean;
}

export class Merge {
  constructor(
    private readonly store: Store,
    private readonly timers: Timers,
    private readonly host: MergeHost,
  ) {}

  /** The aliases of this batch that still need merging (new, or a merge that did not finish). */
  pending(aliases: readonly string[]): string[] {
    // The lead's own key is never merged: left out before the lookup, so a batch naming only it runs no query.
    const key = this.host.key();
    const others = aliases.filter((a) => a !== key);
    const status = this.store.aliasStatus(others);
    return others.filter((a) => status.get(a) !== true);
  }

  /**
   * Takes in the history of `alias` (following where it forwards, if that is a less definite lead).
   * Returns the ids that joined this lead: none when the id belongs to someone else.
   */
  async merge(alias: string, source: KeyKind): Promise<string[]> {
    const into = this.host.key();
    // Should the batch die half-way, the timer finishes the job.
    this.store.addAliases([alias], false);
    this.timers.set('merge', Date.now() + MERGE_RETRY_MS, alias, source);
    let target = alias;
    let joined: string[] = [];
    for (let hop = 0; hop < 3; hop++) {
      const r = await this.#pull(target, source);
      if ('joined' in r) {
        joined = [...new Set([alias, target, ...r.joined])];
        break;
      }
      // The alias already belongs to a less definite lead (an anonymous visitor known by email, identified
      // now by userId): that lead is this one's history too. A more definite owner keeps it.
      if (r.forwardTo && r.forwardTo !== into && rank(r.forwardTo) < rank(into)) target = r.forwardTo;
      else break;
    }
    if (joined.length) this.store.addAliases(joined, true);
    else this.store.removeAlias(alias);
    this.timers.clear('merge', alias);
    return joined;
  }

  /**
   * Two visitors' clients may reuse a messageId (a fixed id in a copied snippet, a buggy client): in one lead
   * that is a retry, but when their leads merge the same id with a different message is a different event,
   * kept under an id that names the lead it came from. The same message in both (a retry that landed on either
   * side of the merge) stays a duplicate.
   */
  distinct(from: string, events: LeadEvent[]): LeadEvent[] {
    const stored = this.store.storedBodies(events.map((e) => e.messageId));
    return events.map((e) => {
      const s = stored.get(e.messageId);
      const same = !s || s.body === '' || (s.body === Store.body(e) && Math.abs(s.ts - e.timestamp) <= SAME_MESSAGE_MS);
      return same ? e : { ...e, messageId: mergedMessageId(e.messageId, from) };
    });
  }

  /** Pages the giver's history into this lead, until the giver forwards here. */
  async #pull(from: string, source: KeyKind): Promise<{ joined: string[] } | { forwardTo?: string }> {
    const giver = this.host.giver(from);
    const joined: string[] = [];
    let seq = 0;
    let outboxSeq = 0;
    let levels: LevelMark[] | null = null;
    const take = (page: Extract<AbsorbResult, { accepted: true }>, aliases: string[]) => {
      if (page.levels !== undefined) levels = page.levels;
      const notifications = page.notifications ?? [];
      const slas = page.slas ?? [];
      if (page.events.length || aliases.length || notifications.length || slas.length) this.host.absorb(from, this.distinct(from, page.events), aliases, notifications, levels, slas);
      seq = page.lastSeq;
      outboxSeq = page.outboxSeq ?? outboxSeq;
    };
    for (;;) {
      const page = await giver.handOver(this.host.key(), seq, source, outboxSeq);
      if (!page.accepted) return { forwardTo: page.forwardTo };
      joined.push(...page.aliases);
      take(page, page.aliases);
      if (page.more) continue;
      // Events stored (or notifications queued) at the giver since the last page come back here instead of the forward.
      const done = await giver.completeHandOver(this.host.key(), seq, outboxSeq);
      if (!done.accepted) return { forwardTo: done.forwardTo };
      if (!done.events.length && !done.notifications?.length) return { joined };
      joined.push(...done.aliases);
      take(done, done.aliases);
    }
  }

  /** The giver's side: a page of history for `into`, or a refusal. */
  handOver(into: string, afterSeq: number, source: KeyKind, outboxAfter?: number): AbsorbResult {
    const fwd = this.store.meta('forward_to');
    if (fwd) return fwd === into ? done(afterSeq) : { accepted: false, forwardTo: fwd };
    const key = this.store.meta('key');
    // An id already holding a more definite lead is not merged into a less definite one.
    if (key && rank(key) > rank(into)) return { accepted: false };
    // A site key never joins two leads that each carry a known id.
    if (source === 'public' && rank(into) > 1 && this.host.known()) return { accepted: false };
    const merging = this.store.meta('merging_into');
    if (merging && merging !== into) return { accepted: false, forwardTo: merging };
    // Claimed even when empty: a batch landing here before `completeHandOver` is handed over, not stranded.
    if (merging !== into) this.store.setMeta('merging_into', into);
    if (!this.store.exists) return done(afterSeq);
    return afterSeq === 0 ? this.#first(outboxAfter) : this.#page(afterSeq, [], outboxAfter);
  }

  /** The first page: the merged-in ids, and where this lead stands (levels, SLAs) for the receiver. */
  #first(outboxAfter?: number): AbsorbResult {
    const page = this.#page(0, this.store.aliasPage('', HANDOVER_ALIASES), outboxAfter);
    return page.accepted ? { ...page, levels: this.host.levels(), slas: this.host.slas() } : page;
  }

  /** `outboxAfter` undefined: a caller that does not take notifications (an older version mid-deploy). */
  #page(afterSeq: number, aliases: string[], outboxAfter?: number): AbsorbResult {
    const events = this.store.eventsBySeq(afterSeq, HANDOVER_PAGE);
    const queued = outboxAfter === undefined ? [] : this.store.notificationsAfter(outboxAfter, HANDOVER_NOTIFICATIONS);
    return {
      accepted: true,
      events: events.map(({ receivedAt: _r, seq: _s, ...e }) => e),
      aliases,
      lastSeq: events.length ? events[events.length - 1].seq : afterSeq,
      more: events.length === HANDOVER_PAGE || queued.length === HANDOVER_NOTIFICATIONS,
      ...(outboxAfter === undefined
        ? {}
        : {
            notifications: queued.map(({ seq: _s, ...r }) => r),
            outboxSeq: queued.length ? queued[queued.length - 1].seq : outboxAfter,
          }),
    };
  }

  /**
   * The receiver holds everything up to `lastSeq`: forward from now on and drop the copy — unless events
   * arrived since, which are handed over first.
   */
  completeHandOver(into: string, lastSeq: number, outboxSeq?: number): AbsorbResult {
    const fwd = this.store.meta('forward_to');
    if (fwd) return fwd === into ? done(lastSeq) : { accepted: false, forwardTo: fwd };
    const merging = this.store.meta('merging_into');
    // Unclaimed and empty: a hand-over begun before empty givers were claimed (mid-deploy) forwards as it did.
    if (merging !== into && (merging || this.store.exists)) return merging ? { accepted: false, forwardTo: merging } : { accepted: false };
    // Empty when the hand-over began, written since (its own first batch): the late page is a first page, with
    // the ids that batch merged in and where the lead stands.
    const late = lastSeq === 0 && !outboxSeq && this.store.exists ? this.#first(outboxSeq) : this.#page(lastSeq, [], outboxSeq);
    if (late.accepted && (late.events.length || late.notifications?.length)) return late;
    this.store.clearForForward();
    this.store.setMeta('forward_to', into);
    return done(lastSeq);
  }
}

const done = (seq: number): AbsorbResult => ({ accepted: true, events: [], aliases: [], lastSeq: seq, more: false });

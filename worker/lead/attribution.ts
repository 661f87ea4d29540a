/**
 * Where the lead came from and when it converted, for insights by source (SPEC "Insights"): its first touch — the
 * earliest page view's UTM tags (Segment's `context.campaign`, kept on the event as `properties.campaign`), else
 * its referrer's host, else "direct" — its first `Opportunity Created` / `Deal Won`, and its first personalized
 * or held-out page (`Experience Viewed`). Kept in meta (a minimum
 * over every event seen, so the order events arrive in, duplicates and a merge's hand-over do not matter, and
 * compaction does not move it); the lead index row carries it (lead-index.ts).
 */
import { EXPERIENCE_VIEWED, type JsonObject, type LeadEvent } from '../../shared/events.js';
import type { Store } from './store.js';

export const OPPORTUNITY = 'Opportunity Created';
export const WON = 'Deal Won';

export interface Touch {
  at: number;
  source: string;
  medium: string | null;
  campaign: string | null;
  referrer: string | null;
}

export interface AttributionView {
  touch: Touch | null;
  opportunityAt: number | null;
  convertedAt: number | null;
  /** The first `Experience Viewed` the edge recorded (worker/experience.ts), and whether that visitor was held out. */
  exposedAt: number | null;
  holdout: boolean | null;
}

const text = (v: unknown, max = 200) => (typeof v === 'string' && v.trim() ? v.trim().slice(0, max) : null);

function host(url: unknown): string | null {
  const s = text(url, 2000);
  if (!s) return null;
  try {
    return new URL(s).hostname.toLowerCase() || null;
  } catch {
    return null;
  }
}

/** A page view's touch: its UTM source, else its referrer's host when that is another site, else direct. */
export function touchOf(e: LeadEvent): Touch | null {
  if (e.type !== 'page') return null;
  const p = e.properties;
  const c = (p.campaign && typeof p.campaign === 'object' && !Array.isArray(p.campaign) ? p.campaign : {}) as JsonObject;
  const own = host(p.url);
  const ref = host(p.referrer);
  const referrer = ref && ref !== own ? ref : null;
  const utm = text(c.source, 100)?.toLowerCase() ?? null;
  return {
    at: e.timestamp,
    source: utm ?? referrer ?? 'direct',
    medium: text(c.medium, 100)?.toLowerCase() ?? (utm ? null : referrer ? 'referral' : 'none'),
    campaign: text(c.name, 200),
    referrer,
  };
}

export class Attribution {
  constructor(private readonly store: Store) {}

  /** Takes in events just stored (or handed over): an earlier touch or conversion replaces the one kept. */
  note(events: readonly LeadEvent[]): void {
    if (!this.store.exists) return;
    this.#backfill();
    this.#take(events);
  }

  view(): AttributionView {
    this.#backfill();
    const touch = this.store.meta('touch');
    const at = (k: string) => (this.store.meta(k) === undefined ? null : Number(this.store.meta(k)));
    const holdout = this.store.meta('holdout');
    return {
      touch: touch ? (JSON.parse(touch) as Touch) : null,
      opportunityAt: at('opportunity_at'),
      convertedAt: at('converted_at'),
      exposedAt: at('exposed_at'),
      holdout: holdout === undefined ? null : holdout === '1',
    };
  }

  /** A lead stored before attribution existed reads its own events once. */
  #backfill(): void {
    if (this.store.meta('attributed') || !this.store.exists) return;
    this.store.setMeta('attributed', '1');
    this.#take(this.store.firstEvents([OPPORTUNITY, WON]));
  }

  #take(events: readonly LeadEvent[]): void {
    const earlier = (k: string, t: number) => {
      const had = this.store.meta(k);
      if (had !== undefined && t >= Number(had)) return false;
      this.store.setMeta(k, String(t));
      return true;
    };
    let touch = this.store.meta('touch') ? (JSON.parse(this.store.meta('touch')!) as Touch) : null;
    for (const e of events) {
      // A machine's page view (a crawler) or a browser's claim on this lead is not where the lead came from.
      if (e.agent || e.claim) continue;
      if (e.type === 'track' && (e.event === OPPORTUNITY || e.event === WON)) {
        earlier('converted_at', e.timestamp);
        if (e.event === OPPORTUNITY) earlier('opportunity_at', e.timestamp);
      }
      // The group of the lead's first exposure is its group: a later visitor of the lead (another browser, merged
      // in) does not move a lead between arms of the comparison after the fact.
      if (e.type === 'track' && e.event === EXPERIENCE_VIEWED && earlier('exposed_at', e.timestamp)) this.store.setMeta('holdout', e.properties.holdout === true ? '1' : '0');
      const t = touchOf(e);
      if (t && (!touch || t.at < touch.at)) touch = t;
    }
    if (touch) this.store.setMeta('touch', JSON.stringify(touch));
  }
}

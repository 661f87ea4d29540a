/**
 * Holding back machines (SPEC, "Sources: email services and bots"): which events are a crawler's or a mail
 * scanner's, and when a person's behaviour releases them. Pure: the lead's object stores the verdicts and feeds
 * the engine only what is not held (worker/lead/holding.ts); a backtest can use the same functions.
 *
 * The rule, as a function of the lead's events:
 * - **for good**: an event whose user agent names a machine (agents.ts), a click on a honeypot link, and the
 *   clicks of a burst that includes one of those. A person showing up later does not make Googlebot's page views
 *   or a click on a link no person can see theirs.
 * - **until a person shows up**: an open or click within `afterDeliverySeconds` of its message's delivery, and
 *   `burst.clicks` clicks within `burst.seconds`. Timing is circumstantial (a person may open a message the
 *   moment it lands), so such an event is released — scored at its own time — once the lead does something a
 *   scanner does not (`releaseOn`: a page view, a form) at or after it, and is not held at all when that already
 *   happened.
 */
import { machineAgent } from './agents.js';
import { eventPath, type LeadEvent } from './events.js';
import type { Matcher } from './match.js';

export type HoldSignal = 'crawler' | 'honeypot' | 'delivery' | 'burst';

export interface Hold {
  signal: HoldSignal;
  reason: string;
  /** Held for good: a person's later behaviour does not release it. */
  permanent: boolean;
}

export interface CompiledHolding {
  enabled: boolean;
  crawlers: boolean;
  /** 0: off. */
  deliveryMs: number;
  burst: { clicks: number; ms: number } | null;
  honeypot: ((url: string) => boolean) | null;
  releaseOn: Matcher[];
}

export const DELIVERED = 'Email Delivered';
const OPENED = 'Email Opened';
const CLICKED = 'Email Link Clicked';

/** `*` matches any run of characters; a pattern starting with `/` is matched against the URL's path and query. */
export function honeypotMatcher(patterns: readonly string[]): ((url: string) => boolean) | null {
  if (!patterns.length) return null;
  const compiled = patterns.map((p) => ({
    onPath: p.startsWith('/'),
    re: new RegExp(`^${p.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i'),
  }));
  return (url) => {
    let path = url;
    try {
      const u = new URL(url);
      path = u.pathname + u.search;
    } catch {
      // Not an absolute URL: matched as it is.
    }
    return compiled.some((c) => c.re.test(c.onPath ? path : url));
  };
}

const agentOf = (e: LeadEvent): unknown => e.agent ?? e.properties.userAgent;
const messageOf = (e: LeadEvent): string | undefined => (typeof e.properties.providerMessageId === 'string' ? e.properties.providerMessageId : undefined);
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Whether the timing signals look at this event: opens, clicks and the deliveries they are measured from. */
export const isTimed = (e: LeadEvent) => e.event === OPENED || e.event === CLICKED || e.event === DELIVERED;

/** What the event says about itself: a machine's user agent, a honeypot link. */
export function ownHold(h: CompiledHolding, e: LeadEvent): Hold | null {
  if (!h.enabled) return null;
  if (h.crawlers) {
    const m = machineAgent(agentOf(e));
    if (m) return { signal: 'crawler', reason: `a known crawler or scanner: its user agent names "${m}"`, permanent: true };
  }
  const url = e.properties.url;
  if (h.honeypot && e.event === CLICKED && typeof url === 'string' && h.honeypot(url)) {
    return { signal: 'honeypot', reason: 'a machine: it clicked the hidden honeypot link', permanent: true };
  }
  return null;
}

/**
 * Timing holds among `events` (opens, clicks, deliveries of one lead, in time order; each with its own hold if it
 * has one): everything within reach of each other must be given together.
 */
export function timingHolds(h: CompiledHolding, events: readonly { e: LeadEvent; own: Hold | null }[]): Map<string, Hold> {
  const out = new Map<string, Hold>();
  if (!h.enabled) return out;
  if (h.burst) {
    const clicks = events.filter((x) => x.e.event === CLICKED);
    const { clicks: n, ms } = h.burst;
    const inBurst = new Array<boolean>(clicks.length).fill(false);
    for (let j = 0, i = 0; j < clicks.length; j++) {
      while (clicks[j].e.timestamp - clicks[i].e.timestamp > ms) i++;
      if (j - i + 1 >= n) for (let k = i; k <= j; k++) inBurst[k] = true;
    }
    for (let i = 0; i < clicks.length; ) {
      if (!inBurst[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < clicks.length && inBurst[j + 1]) j++;
      const run = clicks.slice(i, j + 1);
      // A burst with a honeypot or crawler click in it is that machine's: all of it is held for good.
      const machine = run.some((x) => x.own?.permanent);
      const reason = `likely a scanner: clicked ${run.length} links within ${seconds(ms)}${machine ? ', one of them a known machine' : ''}`;
      for (const x of run) out.set(x.e.messageId, { signal: 'burst', reason, permanent: machine });
      i = j + 1;
    }
  }
  if (h.deliveryMs > 0) {
    const delivered = new Map<string, number[]>();
    for (const { e } of events) {
      const m = messageOf(e);
      if (e.event === DELIVERED && m) delivered.set(m, [...(delivered.get(m) ?? []), e.timestamp]);
    }
    for (const { e } of events) {
      const m = messageOf(e);
      if ((e.event !== OPENED && e.event !== CLICKED) || !m || out.has(e.messageId)) continue;
      const gap = (delivered.get(m) ?? []).map((t) => e.timestamp - t).filter((d) => d >= 0 && d <= h.deliveryMs);
      if (!gap.length) continue;
      const verb = e.event === OPENED ? 'opened' : 'clicked';
      out.set(e.messageId, { signal: 'delivery', reason: `likely a scanner: ${verb} ${seconds(Math.min(...gap))} after delivery`, permanent: false });
    }
  }
  return out;
}

/** A person's behaviour (`releaseOn`), from an event not itself held. */
export const isHuman = (h: CompiledHolding, e: LeadEvent, hold: Hold | null | undefined): boolean =>
  h.enabled && !hold && !e.claim && h.releaseOn.some((m) => m(e, eventPath(e)));

/** The whole rule over a lead's history (any order): each held event's hold, and whether it is released. */
export function holdsOf(h: CompiledHolding, events: readonly LeadEvent[]): Map<string, Hold & { released: boolean }> {
  const sorted = [...events].sort((a, b) => a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : 1));
  const own = new Map(sorted.map((e) => [e.messageId, ownHold(h, e)]));
  const timed = timingHolds(h, sorted.filter(isTimed).map((e) => ({ e, own: own.get(e.messageId)! })));
  const holds = new Map<string, Hold>();
  for (const e of sorted) {
    const hold = own.get(e.messageId) ?? timed.get(e.messageId);
    if (hold) holds.set(e.messageId, hold);
  }
  const lastHuman = Math.max(-Infinity, ...sorted.filter((e) => isHuman(h, e, holds.get(e.messageId))).map((e) => e.timestamp));
  const out = new Map<string, Hold & { released: boolean }>();
  for (const e of sorted) {
    const hold = holds.get(e.messageId);
    if (hold) out.set(e.messageId, { ...hold, released: !hold.permanent && e.timestamp <= lastHuman });
  }
  return out;
}

/**
 * From a validated Segment message to the event the engine scores: one time, corrected and clamped as SPEC's
 * "Precise terms" say, and a messageId even when the client sent none.
 */
import type { KeyKind } from './api.js';
import { machineAgent } from './agents.js';
import { KNOWN_FORM_KINDS as KINDS, storedMessageId, type JsonObject, type LeadEvent, type SegmentMessage } from './events.js';
import { BROWSER_MAX_EVENT_AGE_MS, MAX_FUTURE_SKEW_MS } from './limits.js';
import { parseIsoDate } from './validate.js';


export interface NormalizeContext {
  /** The collector's clock when the request arrived (epoch ms). */
  receivedAt: number;
  /** The batch's sentAt, if the request carried one. */
  batchSentAt?: string;
  /** Public (site) keys may only write recent events; secret keys may backfill history. */
  keyKind: KeyKind;
  /** The request's User-Agent, for a site key's (browser) request only: a server's is its library's, not the visitor's. */
  userAgent?: string;
}

/** How much of a machine's user agent is kept with its events. */
const AGENT_MAX_LENGTH = 300;

/**
 * Segment's clock-skew correction: the client's clock may be off, but the interval between `timestamp` and
 * `sentAt` is measured on that one clock, so it is added to the collector's receive time.
 */
export function correctedTime(msg: SegmentMessage, ctx: NormalizeContext): { timestamp: number; timeNote?: string } {
  const raw = msg as SegmentMessage & { originalTimestamp?: string };
  const ts = parseIsoDate(raw.timestamp ?? raw.originalTimestamp);
  const sent = parseIsoDate(msg.sentAt ?? ctx.batchSentAt);
  let t = ts === undefined ? ctx.receivedAt : sent === undefined ? ts : ctx.receivedAt - (sent - ts);
  if (t > ctx.receivedAt + MAX_FUTURE_SKEW_MS) {
    return { timestamp: ctx.receivedAt, timeNote: `timestamp ${new Date(t).toISOString()} is in the future; scored at receipt` };
  }
  t = Math.min(t, ctx.receivedAt);
  const oldest = ctx.receivedAt - BROWSER_MAX_EVENT_AGE_MS;
  if (ctx.keyKind === 'public' && t < oldest) {
    return {
      timestamp: oldest,
      timeNote: `timestamp ${new Date(t).toISOString()} is older than 7 days; a site key may not backfill, clamped`,
    };
  }
  return { timestamp: t };
}

/** 64-bit FNV-1a as two 32-bit halves: a stable id for a message that came without one. */
export function stableHash(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

const idOf = (v: unknown): string | undefined =>
  typeof v === 'number' ? String(v) : typeof v === 'string' && v.trim() !== '' ? v : undefined;

export interface NormalizedMessage {
  event: LeadEvent;
  userId?: string;
  anonymousId?: string;
  /** An email found in traits (identify) or in a submitted form's properties: it identifies the lead. */
  email?: string;
  /** An alias call's previousId: an id the lead was known by, linked to its userId. */
  previousId?: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(v: unknown): string | undefined {
  return typeof v === 'string' && EMAIL.test(v.trim()) ? v.trim().toLowerCase() : undefined;
}

export function normalizeMessage(msg: SegmentMessage, ctx: NormalizeContext): NormalizedMessage {
  const { timestamp, timeNote } = correctedTime(msg, ctx);
  const userId = idOf(msg.userId);
  const anonymousId = idOf(msg.anonymousId);
  const properties: JsonObject = { ...(('properties' in msg && msg.properties) || {}) };
  if (msg.type === 'page' || msg.type === 'screen') {
    // Segment's analytics.js puts the page's location in properties; other clients only in context.page.
    const page = (msg.context?.page ?? {}) as JsonObject;
    for (const key of ['path', 'url', 'title', 'referrer', 'search'] as const) {
      if (properties[key] === undefined && page[key] !== undefined) properties[key] = page[key];
    }
    if (msg.name !== undefined && properties.name === undefined) properties.name = msg.name;
    // A mobile app's screen is its page view (SPEC: scored like a page); `screen` says which it was.
    if (msg.type === 'screen') properties.screen = msg.name ?? true;
    // UTM tags (Segment's context.campaign) travel with the page view: they are its source, for reports by
    // campaign and referrer.
    const campaign = msg.context?.campaign;
    if (campaign && typeof campaign === 'object' && !Array.isArray(campaign) && Object.keys(campaign).length && properties.campaign === undefined) {
      properties.campaign = campaign;
    }
  }
  if (msg.type === 'group') {
    // The account and its traits (not the person's): the lead reads show them as the lead's account.
    properties.groupId = String(msg.groupId);
    if (msg.traits && typeof msg.traits === 'object') properties.traits = msg.traits;
  }
  // The person's traits: an identify's, and Segment's context.traits on any call (the identify's win).
  const ctxTraits = msg.context?.traits;
  const fromContext = ctxTraits && typeof ctxTraits === 'object' && !Array.isArray(ctxTraits) ? (ctxTraits as JsonObject) : undefined;
  const own = msg.type === 'identify' ? msg.traits ?? {} : undefined;
  const traits = own || fromContext ? { ...fromContext, ...own } : undefined;
  // Only an identify's traits or a submitted form say whose email this is; an email property on any other event
  // (an invitation, a shared link) may be someone else's.
  const formEmail = msg.type === 'track' && msg.event === 'Form Submitted' ? normalizeEmail(properties.email) : undefined;
  const email = normalizeEmail(own?.email) ?? formEmail ?? normalizeEmail(userId);
  // Segment's own behaviour: a message without an id gets a random one. Never one derived from its content,
  // which a stranger could predict and send first.
  const messageId = storedMessageId(msg.messageId ?? crypto.randomUUID(), ctx.keyKind);
  if (msg.type === 'track' && msg.event === 'Form Submitted' && typeof properties.kind === 'string' && !KINDS.has(properties.kind)) {
    // A site's own kind ("signup") is scored as `other`, and kept for reports.
    properties.siteKind = properties.kind;
    properties.kind = 'other';
  }
  // An alias stores no event of its own (route() only links its ids); typed as the identify it resembles.
  const type = msg.type === 'screen' ? 'page' : msg.type === 'alias' ? 'identify' : msg.type;
  const event: LeadEvent = { messageId, type, properties, timestamp };
  if (msg.type === 'track') event.event = msg.event;
  if (traits && (own || Object.keys(traits).length)) event.traits = traits;
  if (timeNote) event.timeNote = timeNote;
  // The user agent the message names (Segment's context.userAgent), else the browser's own request header: kept
  // only if either names a machine, so the event can be held (holding.ts).
  const named = msg.context?.userAgent;
  const agent = machineAgent(named) ? named : machineAgent(ctx.userAgent) ? ctx.userAgent : undefined;
  if (typeof agent === 'string') event.agent = agent.slice(0, AGENT_MAX_LENGTH);
  const out: NormalizedMessage = { event, userId, anonymousId, email };
  if (msg.type === 'alias') out.previousId = idOf(msg.previousId);
  return out;
}

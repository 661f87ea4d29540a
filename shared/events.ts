/**
 * The wire contract: Segment HTTP tracking API messages, and leadlevel's canonical events.
 * https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Segment's message types: all six are accepted (SPEC, "Segment compatibility"). */
export const MESSAGE_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;
export type SegmentType = (typeof MESSAGE_TYPES)[number];
/**
 * The types of a stored event: a screen is stored as a page view (scored like one, `properties.screen` set),
 * an alias is a link between ids and stores nothing, a group is kept for the lead's account.
 */
export type MessageType = 'track' | 'page' | 'identify' | 'group';

interface MessageBase {
  type: SegmentType;
  /** The dedupe key: a retried or replayed message with the same id is never scored twice. */
  messageId?: string;
  anonymousId?: string;
  userId?: string;
  /** When it happened (client clock); corrected with sentAt. */
  timestamp?: string;
  /** When the client sent it (client clock); Segment computes the skew against its own receive time. */
  sentAt?: string;
  context?: JsonObject;
  integrations?: JsonObject;
  writeKey?: string;
}

export interface TrackMessage extends MessageBase {
  type: 'track';
  event: string;
  properties?: JsonObject;
}

export interface PageMessage extends MessageBase {
  type: 'page';
  name?: string;
  category?: string;
  properties?: JsonObject;
}

export interface IdentifyMessage extends MessageBase {
  type: 'identify';
  traits?: JsonObject;
}

export interface ScreenMessage extends MessageBase {
  type: 'screen';
  name?: string;
  properties?: JsonObject;
}

export interface GroupMessage extends MessageBase {
  type: 'group';
  groupId: string;
  traits?: JsonObject;
}

export interface AliasMessage extends MessageBase {
  type: 'alias';
  /** The id the lead was known by (an anonymousId or an earlier userId). */
  previousId: string;
}

export type SegmentMessage = TrackMessage | PageMessage | ScreenMessage | IdentifyMessage | GroupMessage | AliasMessage;

export interface BatchRequest {
  batch: SegmentMessage[];
  sentAt?: string;
  writeKey?: string;
  context?: JsonObject;
}

/** Canonical track events (SPEC, wire contract). Custom events are allowed; these are the ones models know. */
export const CANONICAL_EVENTS = [
  'Page Engaged',
  'Form Submitted',
  'Email Delivered',
  'Email Opened',
  'Email Link Clicked',
  'Email Bounced',
  'Unsubscribed',
  'Webinar Attended',
  'ROI Calculator Completed',
  'Demo Booked',
  'Opportunity Created',
  'Deal Won',
  'Deal Lost',
  // A salesperson reached the lead (from a CRM): meets the lead's open response SLAs; scores nothing by itself.
  'Lead Contacted',
  // What the edge showed a visitor (worker/experience.ts): the personalization holdout's record; scores nothing.
  'Experience Viewed',
] as const;
export const EXPERIENCE_VIEWED = 'Experience Viewed';
export type CanonicalEvent = (typeof CANONICAL_EVENTS)[number];

export const FORM_KINDS = [
  'demo_request',
  'contact_sales',
  'pricing_proposal',
  'content_download',
  'case_study_download',
  'webinar_signup',
  'newsletter',
  'other',
] as const;
export type FormKind = (typeof FORM_KINDS)[number];

/** Built once: every module that asks "is this a canonical event / form kind" shares these. */
export const KNOWN_EVENTS: ReadonlySet<string> = new Set(CANONICAL_EVENTS);
export const KNOWN_FORM_KINDS: ReadonlySet<string> = new Set(FORM_KINDS);

/** Events only a server can attest (an email service, a webinar platform, a CRM): never from a site key. */
export const SERVER_EVENTS: ReadonlySet<string> = new Set([
  'Email Delivered',
  'Email Opened',
  'Email Link Clicked',
  'Email Bounced',
  'Unsubscribed',
  'Webinar Attended',
  'Demo Booked',
  'Opportunity Created',
  'Deal Won',
  'Deal Lost',
  'Lead Contacted',
  'Experience Viewed',
]);

/**
 * An event as the engine sees it: validated, timed (after skew correction and clamping) and reduced to what
 * scoring needs. `timestamp` is epoch milliseconds.
 */
export interface LeadEvent {
  messageId: string;
  type: MessageType;
  /** Track events: the event name. Page views: absent. */
  event?: string;
  properties: JsonObject;
  traits?: JsonObject;
  timestamp: number;
  /** Set when the client's time could not be kept (SPEC: older than 7 days or in the future). */
  timeNote?: string;
  /**
   * The user agent that sent it, kept only when it names a machine (a crawler, a scanner): what holds the event
   * (holding.ts). A person's user agent is not stored.
   */
  agent?: string;
  /**
   * A browser's claim on this known lead (its email in a form or identify from a visitor not part of it): kept so
   * sales sees it, with no traits but the email — an unproven visitor does not rewrite the lead's profile or fit —
   * and never taken for the lead's own behaviour (it releases no held events).
   */
  claim?: true;
}

/** The page path of a page view or a `Page Engaged` event: properties.path, else the path of properties.url. */
export function eventPath(e: Pick<LeadEvent, 'properties'>): string | undefined {
  const p = e.properties.path;
  if (typeof p === 'string' && p.startsWith('/')) return normalizePath(p);
  const url = e.properties.url;
  if (typeof url === 'string') {
    try {
      return normalizePath(new URL(url).pathname);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** `/pricing/` and `/pricing` are the same page; query and fragment are not part of a path. */
export function normalizePath(path: string): string {
  let p = path.split(/[?#]/)[0] || '/';
  if (p.length > 1 && p.endsWith('/')) p = p.replace(/\/+$/, '') || '/';
  return p.toLowerCase();
}

/**
 * Dedupe per source kind: each kind of key stores its messageIds in a namespace of its own, so a stranger holding
 * the public key cannot send a page view under the id a server message will carry and have the real one dropped
 * as "a duplicate". Reads show the id as sent, and where it came from. (Rows stored before the namespaces have
 * bare ids: they read as the server's.)
 */
const NAMESPACES = { public: 'site:', secret: 'srv:' } as const;
export const storedMessageId = (id: string, source: 'public' | 'secret') => NAMESPACES[source] + id;
/** Two leads' events under one stored id, kept apart when the leads merge: no sent id can take this form. */
export const mergedMessageId = (stored: string, from: string) => `merged:${encodeURIComponent(from)}:${stored}`;
export function sentMessageId(stored: string): { messageId: string; source: 'site' | 'server' } {
  let id = stored;
  if (id.startsWith('merged:')) id = id.slice(id.indexOf(':', 7) + 1); // merged:<encoded lead key>:<stored>
  if (id.startsWith(NAMESPACES.public)) return { messageId: id.slice(NAMESPACES.public.length), source: 'site' };
  if (id.startsWith(NAMESPACES.secret)) return { messageId: id.slice(NAMESPACES.secret.length), source: 'server' };
  return { messageId: id, source: 'server' };
}

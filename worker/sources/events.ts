/**
 * What each email service's events mean as leadlevel's canonical track events (SPEC, "Sources: email services
 * and bots"): opens → `Email Opened`, clicks → `Email Link Clicked` {url}, bounces → `Email Bounced` {type: hard |
 * soft}, unsubscribes (a group's too) → `Unsubscribed` {reason}, spam reports → `Unsubscribed` {reason:
 * "spam_report"} (a complaint is the strongest "stop": it scores and suppresses like an unsubscribe), deliveries →
 * `Email Delivered` (no points: what an open or click seconds later is measured from, to hold a mail scanner's).
 * Deferrals, drops and the like are not engagement: they are skipped and counted.
 *
 * Each event keeps what insights and the scanner holding need: the provider, its message id, campaign / tags,
 * the clicked url, the user agent and ip when the provider gives them.
 *
 * Payload shapes: SendGrid https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event,
 * Mailgun https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payloads,
 * Postmark https://postmarkapp.com/developer/webhooks/webhooks-overview.
 */
import type { JsonObject, JsonValue } from '../../shared/events.js';
import { normalizeEmail } from '../../shared/normalize.js';

export type Provider = 'sendgrid' | 'mailgun' | 'postmark';

export interface EmailEvent {
  email: string;
  event: 'Email Delivered' | 'Email Opened' | 'Email Link Clicked' | 'Email Bounced' | 'Unsubscribed';
  /** When it happened, by the provider's clock (epoch ms). */
  at: number;
  properties: JsonObject;
  /**
   * What stays the same when the provider retries the delivery: the dedupe key is derived from these
   * (sources-dedupe, below), never from a per-attempt id such as SendGrid's `sg_event_id`.
   */
  identity: { kind: string; timestamp: string; message: string; url: string };
}

export type Mapped = { ok: true; value: EmailEvent } | { ok: false; reason: string };

type Raw = Record<string, unknown>;

const skip = (reason: string): Mapped => ({ ok: false, reason });
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Provider strings are kept short: a property is for reports, not an archive of the provider's payload. */
const str = (v: unknown, max = 500): string | undefined =>
  typeof v === 'string' && v !== '' ? v.slice(0, max) : typeof v === 'number' ? String(v) : undefined;
const strings = (v: unknown): string[] | undefined => {
  const list = (Array.isArray(v) ? v : [v]).map((x) => str(x, 200)).filter((x): x is string => !!x);
  return list.length ? list.slice(0, 20) : undefined;
};

/** The properties object, without the keys whose value is absent. */
function props(entries: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

const CANONICAL: Record<string, EmailEvent['event']> = {
  delivered: 'Email Delivered',
  open: 'Email Opened',
  click: 'Email Link Clicked',
  bounce: 'Email Bounced',
  unsubscribe: 'Unsubscribed',
  spam: 'Unsubscribed',
};

function event(
  kind: 'delivered' | 'open' | 'click' | 'bounce' | 'unsubscribe' | 'spam',
  email: string,
  at: number,
  identity: EmailEvent['identity'],
  properties: JsonObject,
): Mapped {
  if (kind === 'spam') properties = { ...properties, reason: 'spam_report' };
  return { ok: true, value: { email, event: CANONICAL[kind], at, identity, properties } };
}

// ---- SendGrid: a JSON array of events, `timestamp` in Unix seconds.

const SENDGRID_SKIPPED = new Set(['processed', 'deferred', 'dropped', 'group_resubscribe']);

export function sendgridEvent(raw: unknown): Mapped {
  if (!isObject(raw)) return skip('not an event object');
  const type = str(raw.event, 40);
  if (!type) return skip('no "event"');
  const email = normalizeEmail(raw.email);
  if (!email) return skip(`"${type}" without a valid "email"`);
  if (SENDGRID_SKIPPED.has(type)) return skip(`"${type}" is not engagement`);
  const seconds = typeof raw.timestamp === 'number' ? raw.timestamp : Number(raw.timestamp);
  if (!Number.isFinite(seconds) || seconds <= 0) return skip(`"${type}" without a Unix "timestamp"`);
  const message = str(raw.sg_message_id) ?? str(raw['smtp-id']) ?? '';
  const url = type === 'click' ? str(raw.url, 2000) : undefined;
  const base = {
    provider: 'sendgrid',
    providerEvent: type,
    providerMessageId: message || undefined,
    category: strings(raw.category),
    campaign: str(raw.singlesend_name) ?? str(raw.marketing_campaign_name),
    userAgent: str(raw.useragent),
    ip: str(raw.ip, 64),
  };
  const identity = { kind: type, timestamp: String(seconds), message, url: url ?? '' };
  const at = seconds * 1000;
  switch (type) {
    case 'delivered':
      return event('delivered', email, at, identity, props(base));
    case 'open':
      // Apple Mail Privacy Protection and similar prefetch opens: SendGrid flags them.
      return event('open', email, at, identity, props({ ...base, machineOpen: typeof raw.sg_machine_open === 'boolean' ? raw.sg_machine_open : undefined }));
    case 'click':
      return event('click', email, at, identity, props({ ...base, url }));
    case 'bounce': {
      // SendGrid: type "bounce" is permanent, "blocked" temporary (the older "bounce" event carries both).
      const hard = str(raw.type) !== 'blocked';
      return event('bounce', email, at, identity, props({ ...base, type: hard ? 'hard' : 'soft', reason: str(raw.reason), status: str(raw.status, 20), classification: str(raw.bounce_classification, 60) }));
    }
    case 'unsubscribe':
      return event('unsubscribe', email, at, identity, props({ ...base, reason: 'unsubscribe' }));
    case 'group_unsubscribe':
      return event('unsubscribe', email, at, identity, props({ ...base, reason: 'group_unsubscribe', group: str(raw.asm_group_id, 40) }));
    case 'spamreport':
      return event('spam', email, at, identity, props(base));
    default:
      return skip(`unknown event "${type}"`);
  }
}

// ---- Mailgun: one event per request, in `event-data`; `timestamp` in Unix seconds with a fraction.

const MAILGUN_SKIPPED = new Set(['accepted', 'rejected', 'stored', 'list_member_uploaded', 'list_uploaded']);

export function mailgunEvent(data: Raw): Mapped {
  const type = str(data.event, 40);
  if (!type) return skip('no "event"');
  const email = normalizeEmail(data.recipient);
  if (!email) return skip(`"${type}" without a valid "recipient"`);
  if (MAILGUN_SKIPPED.has(type)) return skip(`"${type}" is not engagement`);
  const seconds = typeof data.timestamp === 'number' ? data.timestamp : Number(data.timestamp);
  if (!Number.isFinite(seconds) || seconds <= 0) return skip(`"${type}" without a Unix "timestamp"`);
  const headers = isObject(data.message) && isObject(data.message.headers) ? data.message.headers : {};
  const message = str(headers['message-id']) ?? '';
  const client = isObject(data['client-info']) ? data['client-info'] : {};
  const url = type === 'clicked' ? str(data.url, 2000) : undefined;
  const campaigns = Array.isArray(data.campaigns) ? data.campaigns.map((c) => (isObject(c) ? (c.name ?? c.id) : c)) : undefined;
  const base = {
    provider: 'mailgun',
    providerEvent: type,
    providerMessageId: message || undefined,
    providerEventId: str(data.id, 100),
    category: strings(data.tags),
    campaign: strings(campaigns)?.[0],
    userAgent: str(client['user-agent']),
    clientType: str(client['client-type'], 40),
    ip: str(data.ip, 64),
  };
  const identity = { kind: type, timestamp: String(seconds), message, url: url ?? '' };
  const at = Math.round(seconds * 1000);
  switch (type) {
    case 'delivered':
      return event('delivered', email, at, identity, props(base));
    case 'opened':
      return event('open', email, at, identity, props(base));
    case 'clicked':
      return event('click', email, at, identity, props({ ...base, url }));
    case 'failed': {
      const status = isObject(data['delivery-status']) ? data['delivery-status'] : {};
      const hard = str(data.severity) === 'permanent';
      return event('bounce', email, at, identity, props({ ...base, type: hard ? 'hard' : 'soft', reason: str(data.reason, 60), status: str(status.code, 20), description: str(status.description) ?? str(status.message) }));
    }
    case 'unsubscribed':
      return event('unsubscribe', email, at, identity, props({ ...base, reason: 'unsubscribe' }));
    case 'complained':
      return event('spam', email, at, identity, props(base));
    default:
      return skip(`unknown event "${type}"`);
  }
}

// ---- Postmark: one record per request, told apart by `RecordType`; ISO times.

/** Postmark bounce types (its Bounce API's `Type`) that are permanent or temporary; the rest are not bounces. */
const POSTMARK_HARD = new Set(['HardBounce', 'BadEmailAddress']);
const POSTMARK_SOFT = new Set(['SoftBounce', 'Transient', 'DnsError', 'Blocked']);

export function postmarkEvent(raw: unknown): Mapped {
  if (!isObject(raw)) return skip('not a record object');
  const type = str(raw.RecordType, 40);
  if (!type) return skip('no "RecordType"');
  const email = normalizeEmail(raw.Recipient ?? raw.Email);
  if (!email) return skip(`"${type}" without a valid "Recipient" / "Email"`);
  const when = str(raw.ReceivedAt) ?? str(raw.BouncedAt) ?? str(raw.ChangedAt) ?? str(raw.DeliveredAt);
  const at = when ? Date.parse(when) : NaN;
  if (!Number.isFinite(at)) return skip(`"${type}" without its time (ReceivedAt / BouncedAt / ChangedAt)`);
  const message = str(raw.MessageID) ?? '';
  const url = type === 'Click' ? str(raw.OriginalLink, 2000) : undefined;
  const base = {
    provider: 'postmark',
    providerEvent: type,
    providerMessageId: message || undefined,
    category: strings(raw.Tag),
    stream: str(raw.MessageStream, 100),
    userAgent: str(raw.UserAgent),
    // Postmark gives the opener's address in Geo.IP.
    ip: isObject(raw.Geo) ? str(raw.Geo.IP, 64) : undefined,
  };
  const identity = { kind: type, timestamp: when!, message, url: url ?? '' };
  switch (type) {
    case 'Open':
      return event('open', email, at, identity, props({ ...base, firstOpen: typeof raw.FirstOpen === 'boolean' ? raw.FirstOpen : undefined }));
    case 'Click':
      return event('click', email, at, identity, props({ ...base, url, clickLocation: str(raw.ClickLocation, 20) }));
    case 'Bounce': {
      const bounce = str(raw.Type, 40) ?? '';
      identity.kind = `Bounce:${bounce}`;
      if (bounce === 'SpamComplaint') return event('spam', email, at, identity, props(base));
      if (bounce === 'Unsubscribe') return event('unsubscribe', email, at, identity, props({ ...base, reason: 'unsubscribe' }));
      const hard = POSTMARK_HARD.has(bounce);
      if (!hard && !POSTMARK_SOFT.has(bounce)) return skip(`bounce of type "${bounce}" is not a delivery failure`);
      return event('bounce', email, at, identity, props({ ...base, type: hard ? 'hard' : 'soft', reason: bounce, description: str(raw.Description) }));
    }
    case 'SpamComplaint':
      return event('spam', email, at, identity, props(base));
    case 'SubscriptionChange': {
      if (raw.SuppressSending !== true) return skip('a resubscription (SuppressSending false)');
      // A suppression after a hard bounce or a complaint arrives as its own Bounce / SpamComplaint record: counted there.
      if (raw.SuppressionReason !== 'ManualSuppression') return skip(`a suppression for "${str(raw.SuppressionReason, 40)}", counted by its own webhook`);
      return event('unsubscribe', email, at, identity, props({ ...base, reason: 'unsubscribe', origin: str(raw.Origin, 40) }));
    }
    case 'Delivery':
      return event('delivered', email, at, identity, props(base));
    default:
      return skip(`unknown record "${type}"`);
  }
}

/**
 * The dedupe key of a provider event: provider, event kind, email, the provider's own time for it, its message
 * id and the clicked url, hashed (SHA-256, 128 bits shown). A retried delivery carries the same values, so it is
 * a duplicate; SendGrid's `sg_event_id` changes on retry and is not used. Two opens of one message within the
 * same provider second count once (SendGrid's clock is in whole seconds).
 */
export async function sourceMessageId(provider: Provider, e: EmailEvent): Promise<string> {
  const text = JSON.stringify([provider, e.identity.kind, e.email, e.identity.timestamp, e.identity.message, e.identity.url]);
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return `${provider}:${[...hash.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

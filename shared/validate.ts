/**
 * Validation of Segment-format messages. Returns every problem, each with the path to the bad value and a
 * reason a person can act on (`batch[3].timestamp: not an ISO-8601 date`), never just the first one.
 */
import {
  FORM_KINDS,
  KNOWN_EVENTS,
  type BatchRequest,
  type JsonObject,
  type SegmentMessage,
} from './events.js';
import {
  MAX_EVENT_NAME_LENGTH,
  MAX_ID_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  SEGMENT_MAX_BATCH_BYTES,
  SEGMENT_MAX_MESSAGE_BYTES,
} from './limits.js';

export interface Problem {
  path: string;
  reason: string;
  /** Set when the problem is a size limit (HTTP 413 rather than 400). */
  tooLarge?: true;
}

export type Checked<T> = { ok: true; value: T; problems: [] } | { ok: false; problems: Problem[] };

/** Calls Segment libraries may send that leadlevel accepts and does not score. */
export const IGNORED_TYPES = ['screen', 'group', 'alias'] as const;

// Date-only or date-time, optional fraction, optional zone: what ISO-8601 writers (Date#toISOString,
// Python's isoformat, Ruby's iso8601) produce. Date.parse alone accepts things like "1" or "March 7".
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

export function parseIsoDate(value: unknown): number | undefined {
  if (typeof value !== 'string' || !ISO_8601.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}

const encoder = new TextEncoder();
export function byteLength(value: unknown): number {
  return encoder.encode(JSON.stringify(value) ?? '').length;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Ids may be numbers in some Segment clients; they are compared as strings. */
function checkId(msg: JsonObject, key: 'userId' | 'anonymousId', at: string, problems: Problem[]): void {
  const v = msg[key];
  if (v === undefined || v === null) return;
  if (typeof v === 'number' && Number.isFinite(v)) return;
  if (typeof v !== 'string' || v.trim() === '') {
    problems.push({ path: `${at}.${key}`, reason: 'must be a non-empty string' });
  } else if (v.length > MAX_ID_LENGTH) {
    problems.push({ path: `${at}.${key}`, reason: `longer than ${MAX_ID_LENGTH} characters` });
  }
}

function checkDate(msg: JsonObject, key: string, at: string, problems: Problem[]): void {
  const v = msg[key];
  if (v === undefined || v === null) return;
  if (parseIsoDate(v) === undefined) {
    problems.push({ path: `${at}.${key}`, reason: `not an ISO-8601 date (got ${JSON.stringify(v).slice(0, 40)})` });
  }
}

function checkObject(msg: JsonObject, key: string, at: string, problems: Problem[]): void {
  const v = msg[key];
  if (v !== undefined && v !== null && !isObject(v)) {
    problems.push({ path: `${at}.${key}`, reason: 'must be a JSON object' });
  }
}

/** Properties the canonical events need to be scored as SPEC describes. */
function checkCanonicalProperties(event: string, props: JsonObject, at: string, problems: Problem[]): void {
  if (event === 'Form Submitted') {
    // A kind outside the list is the site's own and is scored as `other` (normalize.ts); only a non-string is wrong.
    const kind = props.kind;
    if (kind !== undefined && typeof kind !== 'string') {
      problems.push({ path: `${at}.properties.kind`, reason: `must be a form kind string (${FORM_KINDS.join(', ')})` });
    }
  } else if (event === 'Page Engaged') {
    const s = props.seconds;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) {
      problems.push({ path: `${at}.properties.seconds`, reason: 'must be a number of seconds ≥ 0' });
    }
    if (typeof props.path !== 'string' || !props.path.startsWith('/')) {
      problems.push({ path: `${at}.properties.path`, reason: 'must be the page path, starting with /' });
    }
  } else if (event === 'Email Bounced') {
    const t = props.type;
    if (t !== undefined && t !== 'hard' && t !== 'soft') {
      problems.push({ path: `${at}.properties.type`, reason: 'must be "hard" or "soft"' });
    }
  }
}

/**
 * Checks one message. `at` is its path in the request (`batch[3]`, or `` for a single call). `bodyBytes`, when
 * the caller measured the request, skips measuring messages that cannot be over the limit.
 */
export function checkMessage(raw: unknown, at: string, problems: Problem[], bodyBytes = Infinity): raw is SegmentMessage {
  const before = problems.length;
  const here = at || 'body';
  if (!isObject(raw)) {
    problems.push({ path: here, reason: 'must be a JSON object (a Segment message)' });
    return false;
  }
  const p = (key: string) => (at ? `${at}.${key}` : key);
  const type = raw.type;
  if (typeof type !== 'string') {
    problems.push({ path: p('type'), reason: 'missing; one of track, page, identify' });
    return false;
  }
  const ignored = (IGNORED_TYPES as readonly string[]).includes(type);
  if (!ignored && type !== 'track' && type !== 'page' && type !== 'identify') {
    problems.push({ path: p('type'), reason: `"${type}" is not a message type (track, page or identify)` });
  }
  const size = bodyBytes <= SEGMENT_MAX_MESSAGE_BYTES ? 0 : byteLength(raw);
  if (size > SEGMENT_MAX_MESSAGE_BYTES) {
    problems.push({ path: here, reason: `message is ${size} bytes; the limit is 32 KB per message`, tooLarge: true });
  }
  const mid = raw.messageId;
  if (mid !== undefined && (typeof mid !== 'string' || mid === '' || mid.length > MAX_MESSAGE_ID_LENGTH)) {
    problems.push({ path: p('messageId'), reason: `must be a string of 1 to ${MAX_MESSAGE_ID_LENGTH} characters` });
  }
  checkId(raw, 'userId', at || 'body', problems);
  checkId(raw, 'anonymousId', at || 'body', problems);
  const hasId = (v: unknown) => (typeof v === 'string' && v.trim() !== '') || typeof v === 'number';
  if (!hasId(raw.userId) && !hasId(raw.anonymousId)) {
    problems.push({ path: here, reason: 'needs a userId or an anonymousId' });
  }
  checkDate(raw, 'timestamp', at || 'body', problems);
  checkDate(raw, 'sentAt', at || 'body', problems);
  checkDate(raw, 'originalTimestamp', at || 'body', problems);
  for (const key of ['properties', 'traits', 'context', 'integrations']) checkObject(raw, key, at || 'body', problems);
  if (type === 'track') {
    const ev = raw.event;
    if (typeof ev !== 'string' || ev.trim() === '') {
      problems.push({ path: p('event'), reason: 'a track call needs the event name' });
    } else if (ev.length > MAX_EVENT_NAME_LENGTH) {
      problems.push({ path: p('event'), reason: `longer than ${MAX_EVENT_NAME_LENGTH} characters` });
    } else if (KNOWN_EVENTS.has(ev)) {
      checkCanonicalProperties(ev, isObject(raw.properties) ? raw.properties : {}, at || 'body', problems);
    }
  }
  return problems.length === before;
}

/** Checks a `POST /v1/batch` body; `bodyBytes` is its size as received, when known. */
export function checkBatch(raw: unknown, bodyBytes?: number): Checked<BatchRequest> {
  const problems: Problem[] = [];
  if (!isObject(raw)) return { ok: false, problems: [{ path: 'body', reason: 'must be a JSON object with a batch array' }] };
  const size = bodyBytes ?? byteLength(raw);
  if (size > SEGMENT_MAX_BATCH_BYTES) {
    return { ok: false, problems: [{ path: 'body', reason: `request is ${size} bytes; the limit is 500 KB per batch`, tooLarge: true }] };
  }
  if (!Array.isArray(raw.batch)) {
    problems.push({ path: 'batch', reason: 'must be an array of messages' });
  } else if (raw.batch.length === 0) {
    problems.push({ path: 'batch', reason: 'is empty; send at least one message' });
  } else {
    raw.batch.forEach((m, i) => checkMessage(m, `batch[${i}]`, problems, size));
  }
  checkDate(raw, 'sentAt', 'body', problems);
  checkObject(raw, 'context', 'body', problems);
  if (raw.writeKey !== undefined && typeof raw.writeKey !== 'string') {
    problems.push({ path: 'writeKey', reason: 'must be a string' });
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: raw as unknown as BatchRequest, problems: [] };
}

/** Checks the body of a single call (`POST /v1/track`, `/v1/page`, `/v1/identify`); its type comes from the URL. */
export function checkSingle(raw: unknown, type: 'track' | 'page' | 'identify', bodyBytes?: number): Checked<SegmentMessage> {
  const problems: Problem[] = [];
  if (!isObject(raw)) return { ok: false, problems: [{ path: 'body', reason: 'must be a JSON object (a Segment message)' }] };
  if (raw.type !== undefined && raw.type !== type) {
    // JSON, not String(): any JSON value may arrive here, and String({ toString: 1 }) throws.
    return { ok: false, problems: [{ path: 'type', reason: `${JSON.stringify(raw.type).slice(0, 40)} sent to /v1/${type}` }] };
  }
  const msg = { ...raw, type };
  checkMessage(msg, '', problems, bodyBytes);
  return problems.length ? { ok: false, problems } : { ok: true, value: msg as unknown as SegmentMessage, problems: [] };
}

export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.path}: ${p.reason}`).join('; ');
}

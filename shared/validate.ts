/**
 * Validation of Segment-format messages. Returns every problem, each with the path to the bad value and a
 * reason a person can act on (`batch[3].timestamp: not an ISO-8601 date`), never just the first one.
 */
import {
  FORM_KINDS,
  KNOWN_EVENTS,
  MESSAGE_TYPES,
  type SegmentType,
  type BatchRequest,
  type JsonObject,
  type SegmentMessage,
} from './events.js';
import {
  EARLIEST_TIMESTAMP,
  MAX_EVENT_NAME_LENGTH,
  MAX_FUTURE_TIMESTAMP_MS,
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
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

/** A message of a batch refused on its own (Segment's per-message acceptance): the others are stored. */
export interface Rejection {
  index: number;
  messageId: string | null;
  problems: Problem[];
}

/** A batch whose envelope is sound: the messages that passed, and the ones refused with why. */
export interface CheckedBatch {
  ok: true;
  value: BatchRequest;
  /** Indexes into `value.batch` of the messages that passed. */
  accepted: number[];
  rejected: Rejection[];
  /** Every refused message's problems, in order. */
  problems: Problem[];
}

const TYPE_LIST = MESSAGE_TYPES.join(', ');

// Date-only or date-time, optional fraction, optional zone: what ISO-8601 writers (Date#toISOString,
// Python's isoformat, Ruby's iso8601) produce. Date.parse alone accepts things like "1" or "March 7".
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))?)?$/i;

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

export function parseIsoDate(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO_8601.exec(value);
  if (!m) return undefined;
  // V8's Date.parse rolls impossible dates over (2026-02-30 is March 2nd, 24:00 is the next day): refuse them.
  const [y, mo, d, h, mi, s, oh, om] = m.slice(1).map((x) => Number(x ?? 0));
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return undefined;
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

function checkDate(msg: JsonObject, key: string, at: string, problems: Problem[], now: number): void {
  const v = msg[key];
  if (v === undefined || v === null) return;
  const t = parseIsoDate(v);
  if (t === undefined) {
    problems.push({ path: `${at}.${key}`, reason: `not an ISO-8601 date (got ${JSON.stringify(v).slice(0, 40)})` });
  } else if (t < EARLIEST_TIMESTAMP || t > now + MAX_FUTURE_TIMESTAMP_MS) {
    problems.push({ path: `${at}.${key}`, reason: `${JSON.stringify(v).slice(0, 40)} is outside 2000-01-01 … a day from now; check the clock or the code that sets it` });
  }
}

/**
 * The path of the first value nested more than `limit` levels deep in `value` (itself level 1), or undefined.
 * Iterative and stopping at the limit, so the check cannot itself run out of stack; paths are built only for
 * the one that is reported.
 */
export function tooDeep(value: unknown, at: string, limit = MAX_JSON_DEPTH): string | undefined {
  interface Frame { v: unknown; depth: number; key: string; parent?: Frame }
  const stack: Frame[] = [{ v: value, depth: 1, key: at }];
  while (stack.length) {
    const f = stack.pop()!;
    if (typeof f.v !== 'object' || f.v === null) continue;
    if (f.depth > limit) {
      const keys: string[] = [];
      for (let p: Frame | undefined = f; p; p = p.parent) keys.push(p.key);
      return keys.reverse().join('');
    }
    const entries = Array.isArray(f.v) ? f.v.map((x, i) => [`[${i}]`, x] as const) : Object.entries(f.v).map(([k, x]) => [`.${k.length > 40 ? k.slice(0, 40) + '…' : k}`, x] as const);
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ v: entries[i][1], depth: f.depth + 1, key: entries[i][0], parent: f });
  }
  return undefined;
}

function checkDepth(value: unknown, at: string, problems: Problem[], limit = MAX_JSON_DEPTH): boolean {
  const path = tooDeep(value, at, limit);
  if (path) problems.push({ path, reason: `nested more than ${MAX_JSON_DEPTH} levels deep; flatten the value` });
  return !path;
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
export function checkMessage(raw: unknown, at: string, problems: Problem[], bodyBytes = Infinity, now = Date.now()): raw is SegmentMessage {
  const before = problems.length;
  const here = at || 'body';
  if (!isObject(raw)) {
    problems.push({ path: here, reason: 'must be a JSON object (a Segment message)' });
    return false;
  }
  // First: measuring the size below (JSON.stringify) and everything after validation recurse into the value.
  if (!checkDepth(raw, here, problems)) return false;
  const p = (key: string) => (at ? `${at}.${key}` : key);
  const type = raw.type;
  if (typeof type !== 'string') {
    problems.push({ path: p('type'), reason: `missing; one of ${TYPE_LIST}` });
    return false;
  }
  if (!(MESSAGE_TYPES as readonly string[]).includes(type)) {
    problems.push({ path: p('type'), reason: `"${type.slice(0, 40)}" is not a message type (${TYPE_LIST})` });
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
  checkDate(raw, 'timestamp', at || 'body', problems, now);
  checkDate(raw, 'sentAt', at || 'body', problems, now);
  checkDate(raw, 'originalTimestamp', at || 'body', problems, now);
  for (const key of ['properties', 'traits', 'context', 'integrations']) checkObject(raw, key, at || 'body', problems);
  const present = (v: unknown) => (typeof v === 'string' && v.trim() !== '' && v.length <= MAX_ID_LENGTH) || (typeof v === 'number' && Number.isFinite(v));
  if (type === 'group' && !present(raw.groupId)) {
    problems.push({ path: p('groupId'), reason: `a group call needs the account's groupId (a string of 1 to ${MAX_ID_LENGTH} characters)` });
  }
  if (type === 'alias') {
    if (!present(raw.previousId)) problems.push({ path: p('previousId'), reason: `an alias call needs the previousId it links (a string of 1 to ${MAX_ID_LENGTH} characters)` });
    if (!hasId(raw.userId)) problems.push({ path: p('userId'), reason: 'an alias call needs the userId the previousId becomes' });
  }
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

/**
 * Checks a `POST /v1/batch` (or `/v1/import`) body; `bodyBytes` is its size as received, when known. The
 * envelope's problems refuse the request; a message's own problems refuse only that message.
 */
export function checkBatch(raw: unknown, bodyBytes?: number, now = Date.now()): CheckedBatch | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  if (!isObject(raw)) return { ok: false, problems: [{ path: 'body', reason: 'must be a JSON object with a batch array' }] };
  // The messages are checked one by one below; the rest of the body (the body itself is level 1) here.
  for (const [key, v] of Object.entries(raw)) if (key !== 'batch') checkDepth(v, key, problems, MAX_JSON_DEPTH - 1);
  if (problems.length) return { ok: false, problems };
  // Measuring recurses: without the size as received, measure only a body the message checks can reach safely.
  const size = bodyBytes ?? (tooDeep(raw, 'body', MAX_JSON_DEPTH + 2) ? 0 : byteLength(raw));
  if (size > SEGMENT_MAX_BATCH_BYTES) {
    return { ok: false, problems: [{ path: 'body', reason: `request is ${size} bytes; the limit is 500 KB per batch`, tooLarge: true }] };
  }
  const accepted: number[] = [];
  const rejected: Rejection[] = [];
  if (!Array.isArray(raw.batch)) {
    problems.push({ path: 'batch', reason: 'must be an array of messages' });
  } else if (raw.batch.length === 0) {
    problems.push({ path: 'batch', reason: 'is empty; send at least one message' });
  } else {
    raw.batch.forEach((m, i) => {
      const own: Problem[] = [];
      if (checkMessage(m, `batch[${i}]`, own, size, now)) accepted.push(i);
      else rejected.push({ index: i, messageId: messageIdOf(m), problems: own });
    });
  }
  checkDate(raw, 'sentAt', 'body', problems, now);
  checkObject(raw, 'context', 'body', problems);
  if (raw.writeKey !== undefined && typeof raw.writeKey !== 'string') {
    problems.push({ path: 'writeKey', reason: 'must be a string' });
  }
  // A broken envelope refuses the request: it is answered with every problem, the messages' too.
  if (problems.length) return { ok: false, problems: [...rejected.flatMap((r) => r.problems), ...problems] };
  return { ok: true, value: raw as unknown as BatchRequest, accepted, rejected, problems: rejected.flatMap((r) => r.problems) };
}

/** The messageId a refused message carried, as sent (when it is a string), so the client can tell which. */
export function messageIdOf(m: unknown): string | null {
  const id = isObject(m) ? m.messageId : undefined;
  return typeof id === 'string' ? id.slice(0, MAX_MESSAGE_ID_LENGTH) : null;
}

/** Checks the body of a single call (`POST /v1/track`, `/v1/page`, …); its type comes from the URL. */
export function checkSingle(raw: unknown, type: SegmentType, bodyBytes?: number, now = Date.now()): Checked<SegmentMessage> {
  const problems: Problem[] = [];
  if (!isObject(raw)) return { ok: false, problems: [{ path: 'body', reason: 'must be a JSON object (a Segment message)' }] };
  if (raw.type !== undefined && raw.type !== type) {
    // JSON, not String(): any JSON value may arrive here, and String({ toString: 1 }) throws.
    return { ok: false, problems: [{ path: 'type', reason: `${JSON.stringify(raw.type).slice(0, 40)} sent to /v1/${type}` }] };
  }
  const msg = { ...raw, type };
  checkMessage(msg, '', problems, bodyBytes, now);
  return problems.length ? { ok: false, problems } : { ok: true, value: msg as unknown as SegmentMessage, problems: [] };
}

export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.path}: ${p.reason}`).join('; ');
}

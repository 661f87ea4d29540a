/**
 * Each email service's own proof that a webhook came from it, checked with WebCrypto only:
 * - SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over `timestamp + raw body`, the signature base64 DER
 *   in `X-Twilio-Email-Event-Webhook-Signature`, the public key shown in Mail Settings as base64 DER SPKI.
 *   https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 * - Mailgun: hex HMAC-SHA256 of `timestamp + token` under the webhook signing key, in the body's `signature`.
 *   https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
 * - Postmark: HTTP Basic credentials put in the webhook URL (Postmark signs nothing).
 */

/**
 * How far a signed timestamp may be from our clock. Five minutes, the Standard Webhooks / Stripe default: a
 * captured delivery cannot be replayed later (and a replay inside the window is a duplicate: dedupe holds).
 */
export const SIGNATURE_TOLERANCE_S = 300;

export type Verdict = { ok: true } | { ok: false; error: 'signature_missing' | 'signature_invalid' | 'signature_expired'; message: string };

const refuse = (error: Extract<Verdict, { ok: false }>['error'], message: string): Verdict => ({ ok: false, error, message });

/** A configured key the collector cannot use: the operator's problem, answered 503, never 500. */
export class SourceConfigError extends Error {}

const fromBase64 = (text: string): Uint8Array | undefined => {
  try {
    return Uint8Array.from(atob(text.replace(/\s+/g, '')), (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
};

const fromHex = (hex: string): Uint8Array | undefined =>
  /^(?:[0-9a-f]{2})+$/i.test(hex) ? Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16)) : undefined;

/** A Unix-seconds timestamp within the tolerance of `now`, else why not. */
function fresh(timestamp: string, now: number): Verdict {
  if (!/^\d{1,12}$/.test(timestamp)) return refuse('signature_invalid', `the signature timestamp "${timestamp.slice(0, 20)}" is not Unix seconds`);
  const skew = Math.abs(now / 1000 - Number(timestamp));
  if (skew > SIGNATURE_TOLERANCE_S) {
    return refuse('signature_expired', `the signature timestamp is ${Math.round(skew)} s from this collector's clock (at most ${SIGNATURE_TOLERANCE_S} s): a stale or replayed delivery`);
  }
  return { ok: true };
}

const keys = new Map<string, Promise<CryptoKey>>();

/** SendGrid's verification key as the dashboard shows it (base64 DER SPKI), PEM framing tolerated. */
function sendgridKey(configured: string): Promise<CryptoKey> {
  let key = keys.get(configured);
  if (!key) {
    const der = fromBase64(configured.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, ''));
    key = der
      ? crypto.subtle.importKey('spki', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']).catch(() => {
          throw new SourceConfigError('SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA P-256 public key (base64 DER SPKI, as SendGrid shows it under Signed Event Webhook)');
        })
      : Promise.reject(new SourceConfigError('SENDGRID_WEBHOOK_PUBLIC_KEY is not base64; paste the verification key SendGrid shows'));
    key.catch(() => keys.delete(configured));
    keys.set(configured, key);
  }
  return key;
}

/**
 * An ASN.1 DER ECDSA signature (SEQUENCE { INTEGER r, INTEGER s }, what SendGrid sends) as the fixed-width r||s
 * WebCrypto verifies (IEEE P1363). Only the encoding is converted; undefined for anything that is not exactly
 * that structure.
 */
export function derToP1363(der: Uint8Array, size = 32): Uint8Array | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const out = new Uint8Array(size * 2);
  let at = 2;
  for (const half of [0, 1]) {
    if (der[at] !== 0x02) return undefined;
    const len = der[at + 1];
    let int = der.subarray(at + 2, at + 2 + len);
    if (len === 0 || int.length !== len) return undefined;
    while (int.length > 1 && int[0] === 0) int = int.subarray(1);
    if (int.length > size) return undefined;
    out.set(int, half * size + size - int.length);
    at += 2 + len;
  }
  return at === der.length ? out : undefined;
}

export async function verifySendgrid(publicKey: string, headers: Headers, body: string, now = Date.now()): Promise<Verdict> {
  const key = await sendgridKey(publicKey);
  const signature = headers.get('X-Twilio-Email-Event-Webhook-Signature');
  const timestamp = headers.get('X-Twilio-Email-Event-Webhook-Timestamp');
  if (!signature || !timestamp) {
    return refuse('signature_missing', 'no X-Twilio-Email-Event-Webhook-Signature / -Timestamp headers: turn on Signed Event Webhook Requests in SendGrid\'s Mail Settings');
  }
  const when = fresh(timestamp, now);
  if (!when.ok) return when;
  const der = fromBase64(signature);
  const raw = der && derToP1363(der);
  if (!raw) return refuse('signature_invalid', 'X-Twilio-Email-Event-Webhook-Signature is not a base64 DER ECDSA signature');
  const signed = new TextEncoder().encode(timestamp + body);
  const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, signed);
  return ok ? { ok: true } : refuse('signature_invalid', 'the signature does not verify under SENDGRID_WEBHOOK_PUBLIC_KEY over this timestamp and body');
}

export interface MailgunSignature {
  timestamp?: unknown;
  token?: unknown;
  signature?: unknown;
  'parent-signature'?: unknown;
}

export async function verifyMailgun(signingKey: string, sig: MailgunSignature | undefined, now = Date.now()): Promise<Verdict> {
  const timestamp = typeof sig?.timestamp === 'number' ? String(sig.timestamp) : sig?.timestamp;
  if (!sig || typeof timestamp !== 'string' || typeof sig.token !== 'string' || typeof sig.signature !== 'string') {
    return refuse('signature_missing', 'the body has no signature {timestamp, token, signature}: send Mailgun\'s JSON webhook as it is');
  }
  const when = fresh(timestamp, now);
  if (!when.ok) return when;
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(signingKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const data = new TextEncoder().encode(timestamp + sig.token);
  // A subaccount's event also carries the primary account's signature: either key may be the one configured.
  for (const candidate of [sig.signature, sig['parent-signature']]) {
    const mac = typeof candidate === 'string' ? fromHex(candidate) : undefined;
    // crypto.subtle.verify compares in constant time.
    if (mac && (await crypto.subtle.verify('HMAC', key, mac, data))) return { ok: true };
  }
  return refuse('signature_invalid', 'the signature is not the HMAC-SHA256 of timestamp + token under MAILGUN_WEBHOOK_SIGNING_KEY');
}

const digest = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

export async function verifyBasic(user: string, password: string, authorization: string | undefined): Promise<Verdict> {
  const m = /^Basic\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return refuse('signature_missing', 'no HTTP Basic credentials: put them in the webhook URL (https://user:password@…)');
  let given: string;
  try {
    given = atob(m[1]);
  } catch {
    return refuse('signature_invalid', 'the Basic credentials are not base64');
  }
  // Equal-length digests, compared in constant time (Workers' timingSafeEqual).
  const [a, b] = await Promise.all([digest(given), digest(`${user}:${password}`)]);
  return crypto.subtle.timingSafeEqual(a, b) ? { ok: true } : refuse('signature_invalid', 'the Basic credentials are not POSTMARK_WEBHOOK_USER / POSTMARK_WEBHOOK_PASSWORD');
}

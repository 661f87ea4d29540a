/** SendGrid's signed event webhook as SendGrid sends it, for the tests of the sources and of holding. */
import { SECRET, call, env, uid } from './helpers.js';

export const now = () => Math.floor(Date.now() / 1000);
export const mail = () => `${uid('mail')}@example.com`.toLowerCase();
const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

export const eventsOf = async (id: string) =>
  (await (await call(`/v1/leads/${encodeURIComponent(id)}/events?limit=100`, { headers: { Authorization: SECRET } })).json<any>()).events as any[];

// ECDSA P-256 over timestamp + body, the signature in ASN.1 DER (as SendGrid's Go signer sends it).

const sendgridKey = crypto.subtle.importKey('pkcs8', fromBase64(env.TEST_SENDGRID_PRIVATE_KEY), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);

/** WebCrypto's r||s as DER: SEQUENCE { INTEGER r, INTEGER s }. */
function toDer(sig: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b[i] & 0x80 ? [0, ...b.subarray(i)] : [...b.subarray(i)];
    return [0x02, v.length, ...v];
  };
  const body = [...int(sig.subarray(0, 32)), ...int(sig.subarray(32))];
  return Uint8Array.of(0x30, body.length, ...body);
}

export async function sendgridHeaders(body: string, timestamp = String(now())): Promise<Record<string, string>> {
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, await sendgridKey, new TextEncoder().encode(timestamp + body)));
  return {
    'Content-Type': 'application/json',
    'X-Twilio-Email-Event-Webhook-Signature': toBase64(toDer(sig)),
    'X-Twilio-Email-Event-Webhook-Timestamp': timestamp,
  };
}

export const postSendgrid = async (events: unknown, headers?: Record<string, string>) => {
  const body = JSON.stringify(events);
  return call('/v1/sources/sendgrid', { method: 'POST', headers: headers ?? (await sendgridHeaders(body)), body });
};

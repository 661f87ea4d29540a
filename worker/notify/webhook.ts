/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature` = `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under WEBHOOK_SECRET, computed by the
 * specification's own library (`standardwebhooks`), which receivers use to verify.
 */
import { Webhook } from 'standardwebhooks';
import type { Problem } from '../../shared/validate.js';

/** Local runs only (ENVIRONMENT exactly `development`): the tests and the demo verify with it. */
export const DEV_WEBHOOK_SECRET = `whsec_${btoa('leadlevel-development-only-webhook-key')}`;
/** The specification asks for a key of 24 to 64 random bytes. */
const MIN_KEY_BYTES = 24;

/** The signing secret this deployment uses, or why it has none it may use. */
export function webhookSecret(env: { WEBHOOK_SECRET?: string; ENVIRONMENT?: string }): { secret: string | null; problems: Problem[] } {
  const s = env.WEBHOOK_SECRET;
  if (s === undefined || s === '') {
    if (env.ENVIRONMENT === 'development') return { secret: DEV_WEBHOOK_SECRET, problems: [] };
    return { secret: null, problems: [{ path: 'WEBHOOK_SECRET', reason: 'is not set: webhooks cannot be signed; set a whsec_ key (whsec_ + base64 of 32 random bytes: `echo whsec_$(openssl rand -base64 32)`)' }] };
  }
  let bytes = 0;
  try {
    bytes = s.startsWith('whsec_') ? atob(s.slice(6)).length : 0;
  } catch {
    bytes = 0;
  }
  if (bytes < MIN_KEY_BYTES || bytes > 64 || (s === DEV_WEBHOOK_SECRET && env.ENVIRONMENT !== 'development')) {
    return { secret: null, problems: [{ path: 'WEBHOOK_SECRET', reason: `must be whsec_ followed by base64 of ${MIN_KEY_BYTES} to 64 random bytes, not the development key (\`echo whsec_$(openssl rand -base64 32)\`)` }] };
  }
  return { secret: s, problems: [] };
}

const signers = new Map<string, Webhook>();

/** The headers of one signed send; the timestamp is the time of this attempt (a retry is signed again). */
export function signedHeaders(secret: string, id: string, body: string, now = Date.now()): Record<string, string> {
  let wh = signers.get(secret);
  if (!wh) signers.set(secret, (wh = new Webhook(secret)));
  const at = new Date(now);
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': wh.sign(id, at, body) };
}

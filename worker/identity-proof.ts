/**
 * Identity verification for userIds written with a site key. A site key is public, so a browser's claim "I am
 * user 42" means nothing on its own: the site's backend, which knows who is signed in, signs the userId with
 * a secret the browser never sees — `context.userHash` = hex HMAC-SHA256(IDENTITY_SECRET, userId) — the way
 * Intercom's identity verification and Marketo's `associateLead` work. WebCrypto computes and compares it
 * (`verify` compares in constant time).
 */
import type { Problem } from '../shared/validate.js';

/** Local runs only (ENVIRONMENT exactly `development`): the demo and the tests sign with this. */
export const DEV_IDENTITY_SECRET = 'dev-identity-secret-not-for-production';
/** A deployed secret: 32 characters or more (`openssl rand -hex 32` gives 64). */
export const MIN_IDENTITY_SECRET = 32;

/**
 * The secrets proofs are checked against: IDENTITY_SECRET, and during a rotation IDENTITY_SECRET_PREVIOUS too
 * (pages rendered with the old secret keep working until the new one is everywhere).
 */
export function identitySecrets(env: { IDENTITY_SECRET?: string; IDENTITY_SECRET_PREVIOUS?: string; ENVIRONMENT?: string }): { secrets: string[]; problems: Problem[] } {
  const s = env.IDENTITY_SECRET;
  if (s === undefined || s === '') return { secrets: env.ENVIRONMENT === 'development' ? [DEV_IDENTITY_SECRET] : [], problems: [] };
  const problems: Problem[] = [];
  const secrets: string[] = [];
  for (const [name, v] of [['IDENTITY_SECRET', s], ['IDENTITY_SECRET_PREVIOUS', env.IDENTITY_SECRET_PREVIOUS]] as const) {
    if (v === undefined || v === '') continue;
    if (v.length < MIN_IDENTITY_SECRET || v === DEV_IDENTITY_SECRET) problems.push({ path: name, reason: `must be a random string of at least ${MIN_IDENTITY_SECRET} characters (openssl rand -hex 32)` });
    else secrets.push(v);
  }
  return { secrets: problems.length ? [] : secrets, problems };
}

const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();
const hmacKey = (secret: string) => {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size > 4) keys.clear();
    keys.set(secret, (key = crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])));
  }
  return key;
};

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** Whether `hash` is the hex HMAC-SHA256 of `userId` under one of `secrets`. */
export async function userHashValid(secrets: readonly string[], userId: string, hash: unknown): Promise<boolean> {
  if (typeof hash !== 'string' || !HEX_SHA256.test(hash)) return false;
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = parseInt(hash.slice(i * 2, i * 2 + 2), 16);
  for (const secret of secrets) if (await crypto.subtle.verify('HMAC', await hmacKey(secret), mac, enc.encode(userId))) return true;
  return false;
}

/** What a site's backend computes (and the tests): hex HMAC-SHA256(secret, userId). */
export async function userHash(secret: string, userId: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), enc.encode(userId)));
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Who is in the personalization holdout (worker/experience.ts): HMAC-SHA256 of the visitor's anonymous id under
 * the deployment's HOLDOUT_SECRET, its first 32 bits as a fraction of 2³², below the share. Stable (the same
 * visitor stays in its group on every page and every edge), uniform, and nested (a visitor held out at 10 % is
 * held out at 20 % too). Keyed, so a stranger cannot make up anonymous ids that land in the group they want.
 */
export const DEV_HOLDOUT_SECRET = 'dev-holdout-secret-not-for-production';

const enc = new TextEncoder();
/** The imported key of each secret, made once per isolate. */
const keys = new Map<string, Promise<CryptoKey>>();

export async function heldOut(secret: string, anonymousId: string, share: number): Promise<boolean> {
  if (!(share > 0)) return false;
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])));
  const mac = await crypto.subtle.sign('HMAC', await key, enc.encode(anonymousId));
  return new DataView(mac).getUint32(0) / 2 ** 32 < share;
}

/** Who is calling: the write key from HTTP Basic (as Segment's libraries send it), Bearer, the body or the query. */
import type { Context } from 'hono';
import type { Env } from './env.js';
import { fail } from './errors.js';
import { keyConfig, kindOf, originAllowed, requestOrigin, type KeyKind } from './keys.js';

export interface Caller {
  key: string;
  kind: KeyKind;
  origin?: string;
}

export function keyFromHeader(req: Request): string | undefined {
  const auth = req.headers.get('Authorization');
  if (!auth) return undefined;
  const [scheme, value = ''] = auth.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) {
    try {
      return atob(value).split(':')[0];
    } catch {
      fail(401, 'invalid_authorization', 'the Authorization header is not valid Basic auth (base64 of "<writeKey>:")');
    }
  }
  fail(401, 'invalid_authorization', `Authorization scheme "${scheme}" is not supported; use Basic (write key as user name) or Bearer`);
}

/** Resolves and checks the caller. Site keys must come from one of their site's origins. */
export function authenticate(c: Context<{ Bindings: Env }>, bodyKey?: unknown): Caller {
  const key = keyFromHeader(c.req.raw) ?? (typeof bodyKey === 'string' ? bodyKey : undefined) ?? c.req.query('writeKey');
  if (!key) fail(401, 'missing_key', 'no write key: send it as the HTTP Basic user name, as "writeKey" in the body, or as Bearer');
  const config = keyConfig(c.env);
  const kind = kindOf(config, key);
  if (!kind) fail(401, 'unknown_key', `the key "${key.slice(0, 12)}${key.length > 12 ? '…' : ''}" is not a key of this collector`);
  const origin = requestOrigin(c.req.raw);
  if (kind === 'public' && !originAllowed(config, key, origin)) {
    fail(403, 'origin_not_allowed', origin ? `origin ${origin} is not allowed for this site key` : 'a site key must be used from a page of its site (no Origin or Referer)');
  }
  return { key, kind, origin };
}

export function requireSecret(caller: Caller, what: string): void {
  if (caller.kind !== 'secret') fail(403, 'secret_key_required', `${what} needs a secret key (sk_…); a site key may only write events and read its own visitor's level`);
}

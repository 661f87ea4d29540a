/**
 * Operator sessions for /app. An operator signs in with one of the deployment's secret keys (SECRET_KEYS; `sk_dev`
 * under ENVIRONMENT=development): whoever holds one may already do everything through the API, so the dashboard
 * grants no more than the key does. The session is a cookie signed with Hono's signed-cookie helper (HMAC-SHA256
 * in WebCrypto) under a key derived from the secret keys, so rotating SECRET_KEYS ends every session; its expiry
 * is inside the signed value and checked here, not left to the browser.
 */
import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.js';
import { fail } from '../errors.js';
import { keyConfig } from '../keys.js';

export interface Session {
  id: string;
  expiresAt: number;
  /** The token every state-changing form of this session carries (HMAC of the session id). */
  csrf: string;
}

export type AppEnv = { Bindings: Env; Variables: { session: Session; nonce: string } };
export type AppContext = Context<AppEnv>;

export const SESSION_COOKIE = 'll_session';
/** A working day and then some: an operator signs in each morning. */
export const SESSION_MS = 12 * 60 * 60_000;
/** A wrong secret waits this long before its answer: guessing through the form is slow. */
const FAILED_SIGN_IN_DELAY_MS = 400;

const enc = new TextEncoder();
const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

async function hmac(key: string | ArrayBuffer, message: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey('raw', typeof key === 'string' ? enc.encode(key) : key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, enc.encode(message));
}

let derived: { raw: string; key: ArrayBuffer } | undefined;

/** The session-signing key: HMAC of a fixed label under the deployment's secret keys (never stored anywhere). */
async function sessionKey(env: Env): Promise<ArrayBuffer> {
  const raw = [...keyConfig(env).secret].sort().join('\n');
  if (derived?.raw !== raw) derived = { raw, key: await hmac(raw, 'leadlevel operator session v1') };
  return derived.key;
}

/**
 * Whether `given` is one of the secret keys, in constant time: both sides are hashed to equal-length digests and
 * compared with workerd's `timingSafeEqual`, against every key (no early exit that would tell which matched).
 */
export async function isOperatorSecret(env: Env, given: string): Promise<boolean> {
  const mine = await crypto.subtle.digest('SHA-256', enc.encode(given));
  let ok = false;
  for (const key of keyConfig(env).secret) {
    const theirs = await crypto.subtle.digest('SHA-256', enc.encode(key));
    if (crypto.subtle.timingSafeEqual(mine, theirs)) ok = true;
  }
  return ok;
}

export const delayFailedSignIn = () => new Promise((r) => setTimeout(r, FAILED_SIGN_IN_DELAY_MS));

/** `Secure` everywhere but plain-HTTP development (npm start on http://127.0.0.1). */
function cookieOptions(c: AppContext) {
  const secure = !(c.env.ENVIRONMENT === 'development' && new URL(c.req.url).protocol === 'http:');
  return { path: '/app', httpOnly: true, sameSite: 'Strict' as const, secure };
}

async function csrfFor(env: Env, sessionId: string): Promise<string> {
  return hex(await hmac(await sessionKey(env), `csrf:${sessionId}`));
}

export async function startSession(c: AppContext): Promise<void> {
  const expiresAt = Date.now() + SESSION_MS;
  const value = `${crypto.randomUUID()}.${expiresAt}`;
  await setSignedCookie(c, SESSION_COOKIE, value, await sessionKey(c.env), { ...cookieOptions(c), maxAge: SESSION_MS / 1000 });
}

export function endSession(c: AppContext): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}

/** The request's session: null when there is no cookie, its signature is wrong or it has expired. */
export async function sessionOf(c: AppContext): Promise<Session | null> {
  const value = await getSignedCookie(c, await sessionKey(c.env), SESSION_COOKIE);
  if (!value) return null;
  const m = /^([0-9a-f-]{36})\.(\d{13})$/.exec(value);
  if (!m) return null;
  const expiresAt = Number(m[2]);
  if (expiresAt <= Date.now()) return null;
  return { id: m[1], expiresAt, csrf: await csrfFor(c.env, m[1]) };
}

/** The fields of a dashboard form; a body that is no form (a broken multipart, say) is a 400, never a 500. */
export async function formOf(c: AppContext): Promise<Record<string, unknown>> {
  try {
    return await c.req.parseBody();
  } catch {
    fail(400, 'invalid_form', 'the body is not a form (application/x-www-form-urlencoded or multipart/form-data) that can be read');
  }
}

/** /app paths answered as JSON (the live-update poll): 401 rather than a redirect to the sign-in page. */
export const isApiPath = (path: string) => path.startsWith('/app/api/');

/** Every page but the sign-in page needs a session: pages redirect to sign in, API paths answer 401. */
export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  const session = await sessionOf(c);
  if (!session) {
    if (isApiPath(c.req.path)) fail(401, 'not_signed_in', 'sign in at /app/sign-in first; the session is missing or has expired');
    const next_ = c.req.method === 'GET' ? `?next=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}` : '';
    return c.redirect(`/app/sign-in${next_}`, 303);
  }
  c.set('session', session);
  await next();
});

/**
 * The per-session token of a state-changing form (the `_csrf` field), besides the Origin check of Hono's csrf():
 * refused with 403 when missing or wrong, before the handler runs.
 */
export const requireCsrfToken = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method !== 'POST') return next();
  const body = await formOf(c);
  const given = typeof body._csrf === 'string' ? body._csrf : '';
  const expected = c.get('session').csrf;
  const [a, b] = await Promise.all([crypto.subtle.digest('SHA-256', enc.encode(given)), crypto.subtle.digest('SHA-256', enc.encode(expected))]);
  if (!given || !crypto.subtle.timingSafeEqual(a, b)) fail(403, 'csrf_token_invalid', 'this form has no valid _csrf token for your session; reload the page and send it again');
  await next();
});

/**
 * Where to go after signing in or a form: only a path of the dashboard itself (no open redirect). The given
 * value is resolved as the browser would resolve it against this page (`..`, backslashes, tabs and newlines
 * included), must stay on this origin under `/app`, and comes back re-serialized: control characters
 * percent-encoded, so the Location header is always valid.
 */
export function safeNext(c: AppContext, next: unknown, fallback = '/app'): string {
  if (typeof next !== 'string' || next.length > 2_000) return fallback;
  const origin = new URL(c.req.url).origin;
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return fallback;
  }
  if (url.origin !== origin || !(url.pathname === '/app' || url.pathname.startsWith('/app/'))) return fallback;
  return url.pathname + url.search;
}

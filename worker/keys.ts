/**
 * Write keys. Site keys (`pk_…`) are public, for browsers, bound to the site's origins; secret keys (`sk_…`)
 * may do everything. Fail closed: the local defaults `pk_demo` and `sk_dev` exist only when `ENVIRONMENT` is
 * exactly `development`; anywhere else both SITE_KEYS and SECRET_KEYS must be set, with real random keys, or the
 * deployment answers 503 with every problem and serves nothing.
 */
import type { Env } from './env.js';
import type { Problem } from '../shared/validate.js';

import type { KeyKind } from '../shared/api.js';
import { identitySecrets } from './identity-proof.js';
export type { KeyKind };

export interface KeyConfig {
  site: Map<string, RegExp[]>;
  secret: Set<string>;
  /** Sign site-key userIds (identity-proof.ts), the current first; none: a site key cannot write a userId. */
  identitySecrets: string[];
  /** Why this deployment may not serve, if it may not: each problem names the variable to fix. */
  problems: Problem[];
}

export const DEMO_SITE_KEY = 'pk_demo';
export const DEV_SECRET_KEY = 'sk_dev';
const LOCAL_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'];

/**
 * Characters a deployed key needs after its prefix: 24 random characters are 96 bits even in hex, out of reach of
 * guessing; `openssl rand -hex 24` gives 48 (192 bits). Only letters, digits, `-` and `_`: a key travels as an HTTP Basic
 * user name (a `:` would cut it) and in `?writeKey=` URLs (where `+`, `/` and `=` change meaning).
 */
export const MIN_KEY_RANDOM_CHARS = 24;
const REAL_KEY = new RegExp(`^(?:pk|sk)_[A-Za-z0-9_-]{${MIN_KEY_RANDOM_CHARS},}$`);

/** `https://www.example.com`, `http://localhost:*` (any port), `https://*.example.com` (any subdomain). */
const ORIGIN = /^https?:\/\/(?:\*\.)?(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:]+\])(?::(?:\d{1,5}|\*))?\/?$/i;

/** `http://localhost:*` allows any port; `https://*.example.com` any subdomain. */
export function originPattern(p: string): RegExp {
  const src = p
    .toLowerCase()
    .replace(/\/+$/, '')
    .split(/(:\*|\*\.)/)
    .map((part) => (part === ':*' ? '(?::\\d+)?' : part === '*.' ? '(?:[a-z0-9-]+\\.)+' : part.replace(/[.+?^${}()|[\]\\*]/g, '\\$&')))
    .join('');
  return new RegExp(`^${src}$`);
}

/** A site key as shown in a problem: it is public, but a prefix is enough to find it. */
const shown = (key: string) => JSON.stringify(key.length > 16 ? `${key.slice(0, 16)}…` : key);

const SITE_KEYS_SHAPE = '{"pk_…": {"origins": ["https://www.example.com"]}}';

function parseSiteKeys(raw: string, site: Map<string, RegExp[]>, problems: Problem[]): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push({ path: 'SITE_KEYS', reason: `is not JSON; set it to ${SITE_KEYS_SHAPE}` });
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push({ path: 'SITE_KEYS', reason: `must be a JSON object like ${SITE_KEYS_SHAPE}` });
    return;
  }
  for (const [key, v] of Object.entries(parsed)) {
    const at = `SITE_KEYS[${shown(key)}]`;
    if (!key.startsWith('pk_')) problems.push({ path: at, reason: 'a site key starts with pk_' });
    const origins = (v as { origins?: unknown } | null)?.origins;
    if (!Array.isArray(origins) || origins.length === 0) {
      problems.push({ path: `${at}.origins`, reason: 'needs the list of origins the site is served from, e.g. ["https://www.example.com"]' });
      continue;
    }
    origins.forEach((o, i) => {
      if (typeof o !== 'string' || !ORIGIN.test(o)) {
        problems.push({ path: `${at}.origins[${i}]`, reason: `${JSON.stringify(o)} is not an origin like https://www.example.com or https://*.example.com (no path)` });
      }
    });
    site.set(key, origins.filter((o): o is string => typeof o === 'string').map(originPattern));
  }
  if (site.size === 0 && !problems.length) problems.push({ path: 'SITE_KEYS', reason: `names no site key; set it to ${SITE_KEYS_SHAPE}` });
}

let cached: { raw: string; config: KeyConfig } | undefined;

export function keyConfig(env: Env): KeyConfig {
  const raw = `${env.ENVIRONMENT}\n${env.SITE_KEYS ?? ''}\n${env.SECRET_KEYS ?? ''}\n${env.IDENTITY_SECRET ?? ''}\n${env.IDENTITY_SECRET_PREVIOUS ?? ''}\n${!!env.ADDRESS_LIMIT}`;
  if (cached?.raw === raw) return cached.config;
  // Exactly "development", as `npm start` and the tests set it: "Production", "prod", "staging", a typo or
  // nothing at all are deployments, and a deployment never runs on keys anyone can read in this repository.
  const development = env.ENVIRONMENT === 'development';
  const site = new Map<string, RegExp[]>();
  const secret = new Set<string>();
  const problems: Problem[] = [];
  const where = `ENVIRONMENT is ${env.ENVIRONMENT === undefined ? 'not set' : JSON.stringify(env.ENVIRONMENT)}, not "development"`;

  if (env.SITE_KEYS) parseSiteKeys(env.SITE_KEYS, site, problems);
  else if (development) site.set(DEMO_SITE_KEY, LOCAL_ORIGINS.map(originPattern));
  else problems.push({ path: 'SITE_KEYS', reason: `is not set (${where}, so the local pk_demo is off); set ${SITE_KEYS_SHAPE}` });

  if (env.SECRET_KEYS) {
    for (const k of env.SECRET_KEYS.split(',')) if (k.trim()) secret.add(k.trim());
    if (secret.size === 0) problems.push({ path: 'SECRET_KEYS', reason: 'names no key; set one or more sk_… keys, comma-separated' });
  } else if (development) secret.add(DEV_SECRET_KEY);
  else problems.push({ path: 'SECRET_KEYS', reason: `is not set (${where}, so the local sk_dev is off); wrangler secret put SECRET_KEYS` });

  // Secret keys are never echoed, not even in part: the 503 that lists these problems is public.
  [...secret].forEach((k, i) => {
    const at = `SECRET_KEYS[${i}]`;
    if (!k.startsWith('sk_')) problems.push({ path: at, reason: 'a secret key starts with sk_' });
    else if (!development && (k === DEV_SECRET_KEY || !REAL_KEY.test(k))) {
      problems.push({ path: at, reason: `is ${k === DEV_SECRET_KEY ? 'the local default key' : 'not a real random key'}: sk_ and at least ${MIN_KEY_RANDOM_CHARS} letters or digits (openssl rand -hex 24)` });
    }
    if (site.has(k)) problems.push({ path: at, reason: 'is also a site key; a secret key must never be in a page' });
  });
  if (!development && !env.ADDRESS_LIMIT) {
    problems.push({ path: 'ADDRESS_LIMIT', reason: 'the rate-limiting binding is missing ([[ratelimits]] name = "ADDRESS_LIMIT" in wrangler.toml): without it, rotating anonymous ids from one address is not limited' });
  }
  if (!development) {
    for (const k of site.keys()) {
      if (k.startsWith('pk_') && (k === DEMO_SITE_KEY || !REAL_KEY.test(k))) {
        problems.push({ path: `SITE_KEYS[${shown(k)}]`, reason: `is ${k === DEMO_SITE_KEY ? 'the local default key' : 'not a real random key'}: pk_ and at least ${MIN_KEY_RANDOM_CHARS} letters or digits (openssl rand -hex 24)` });
      }
    }
  }
  const identity = identitySecrets(env);
  problems.push(...identity.problems);
  const config = { site, secret, identitySecrets: identity.secrets, problems };
  cached = { raw, config };
  return config;
}

export function kindOf(config: KeyConfig, key: string): KeyKind | undefined {
  if (config.secret.has(key)) return 'secret';
  if (config.site.has(key)) return 'public';
  return undefined;
}

/** The page's origin: the Origin header, else the origin of the Referer. */
export function requestOrigin(req: Request): string | undefined {
  const o = req.headers.get('Origin');
  if (o && o !== 'null') return o.toLowerCase();
  const r = req.headers.get('Referer');
  if (!r) return undefined;
  try {
    return new URL(r).origin.toLowerCase();
  } catch {
    return undefined;
  }
}

export function originAllowed(config: KeyConfig, key: string, origin: string | undefined): boolean {
  const patterns = config.site.get(key);
  return !!origin && !!patterns?.some((re) => re.test(origin));
}

/** Whether some configured site key allows this page origin: the only origins CORS answers (SPEC). */
export function originOfSomeSite(config: KeyConfig, origin: string | undefined): boolean {
  if (!origin) return false;
  const o = origin.toLowerCase();
  for (const patterns of config.site.values()) if (patterns.some((re) => re.test(o))) return true;
  return false;
}

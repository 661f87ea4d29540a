/**
 * Write keys. Site keys (`pk_…`) are public, for browsers, bound to the site's origins; secret keys (`sk_…`)
 * may do everything. Local defaults `pk_demo` and `sk_dev`; a production deployment refuses them.
 */
import type { Env } from './env.js';

import type { KeyKind } from '../shared/api.js';
export type { KeyKind };

export interface KeyConfig {
  site: Map<string, RegExp[]>;
  secret: Set<string>;
  /** Why this deployment may not serve, if it may not. */
  refusal?: string;
}

export const DEMO_SITE_KEY = 'pk_demo';
export const DEV_SECRET_KEY = 'sk_dev';
const LOCAL_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'];

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

let cached: { raw: string; config: KeyConfig } | undefined;

export function keyConfig(env: Env): KeyConfig {
  const raw = `${env.ENVIRONMENT}\n${env.SITE_KEYS ?? ''}\n${env.SECRET_KEYS ?? ''}`;
  if (cached?.raw === raw) return cached.config;
  const production = (env.ENVIRONMENT ?? 'production') === 'production';
  const site = new Map<string, RegExp[]>();
  const secret = new Set<string>();
  let refusal: string | undefined;
  if (env.SITE_KEYS) {
    try {
      const parsed = JSON.parse(env.SITE_KEYS) as Record<string, { origins?: string[] }>;
      for (const [key, v] of Object.entries(parsed)) site.set(key, (v.origins ?? []).map(originPattern));
    } catch {
      refusal = 'SITE_KEYS is not JSON like {"pk_live_…": {"origins": ["https://www.example.com"]}}';
    }
  } else {
    site.set(DEMO_SITE_KEY, LOCAL_ORIGINS.map(originPattern));
  }
  for (const k of (env.SECRET_KEYS ?? DEV_SECRET_KEY).split(',')) if (k.trim()) secret.add(k.trim());
  if (production && (site.has(DEMO_SITE_KEY) || secret.has(DEV_SECRET_KEY))) {
    refusal = 'this deployment uses the local default keys (pk_demo / sk_dev); set SITE_KEYS and SECRET_KEYS (wrangler secret put SECRET_KEYS)';
  }
  for (const k of site.keys()) if (!k.startsWith('pk_')) refusal ??= `site key "${k.slice(0, 8)}…" must start with pk_`;
  for (const k of secret) if (!k.startsWith('sk_')) refusal ??= 'secret keys must start with sk_';
  const config = { site, secret, refusal };
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

/**
 * Edge personalization: the Worker stands in front of the marketing site (the configured origin, or the bundled
 * demo-site/) and rewrites each HTML page for the visitor's level before it leaves the edge, so the first paint
 * is already right. The visitor is known by the SDK's first-party `ll_aid` cookie (or analytics.js's
 * `ajs_anonymous_id`, for a site tracked with Segment's library); without one, or if anything
 * about the lookup fails, the page gets the defaults (the lowest level), never an error.
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Env } from '../env.js';
import { anonKey } from '../identity.js';
import { leadStub } from '../lead/index.js';
import { activeModel } from '../model.js';
import { experienceOf, exposureEvents, recordExposure, type Experience, type Shown } from '../experience.js';
import { siteConfig, variantsFor } from '../site.js';

const AID = /^[A-Za-z0-9._-]{1,100}$/;

/** The visitor's level, or the default when unknown or when the lookup fails. */
export async function visitorLevel(env: Env, aid: string | undefined): Promise<{ level: string; known: boolean }> {
  const fallback = activeModel().types[0].tierIds[0];
  if (!aid || !AID.test(aid)) return { level: fallback, known: false };
  try {
    const lead = await leadStub(env, anonKey(aid)).level();
    return lead ? { level: lead.level, known: true } : { level: fallback, known: false };
  } catch {
    return { level: fallback, known: false };
  }
}

/**
 * The page for a visitor at `level`. `shown`, when given, hears of each slot the page has and got content for
 * (with the variant), and then of the document's end: what the visitor was actually shown.
 */
export function personalize(
  res: Response,
  level: string,
  content: Record<string, string>,
  shown?: { slot(slot: string): void; end(): void },
): Response {
  const rewritten = new HTMLRewriter()
    .on('html', {
      element(el) {
        el.setAttribute('data-ll-level', level);
        el.setAttribute('data-ll-ssr', '1'); // the SDK sees this and does not redo the work
      },
    })
    .on('[data-ll-show]', {
      // Hidden, not removed: the visitor may heat up on this very page, and the SDK then shows another variant.
      element(el) {
        const levels = (el.getAttribute('data-ll-show') ?? '').split(/\s+/);
        if (!levels.includes(level)) {
          const style = el.getAttribute('style');
          el.setAttribute('style', `${style ? style.replace(/;?\s*$/, ';') : ''}display:none`);
        }
      },
    })
    .on('[data-ll-slot]', {
      element(el) {
        const slot = el.getAttribute('data-ll-slot') ?? '';
        const html = content[slot];
        if (html === undefined) return; // unknown slot: the page's own content
        el.setInnerContent(html, { html: true });
        shown?.slot(slot);
      },
    })
    .onDocument({ end: () => shown?.end() })
    .transform(res);
  const out = new Response(rewritten.body, rewritten);
  // Personalized by cookie: shared caches must not serve one visitor's page to another.
  out.headers.set('Cache-Control', 'private, no-cache');
  out.headers.append('Vary', 'Cookie');
  out.headers.delete('Content-Length');
  out.headers.delete('ETag');
  out.headers.delete('Last-Modified');
  return out;
}

async function fromOrigin(c: Context<{ Bindings: Env }>): Promise<Response> {
  const origin = c.env.SITE_ORIGIN ?? siteConfig().origin;
  const url = new URL(c.req.url);
  // The whole request goes through, body included (a form posting to the site), redirects untouched; but not
  // the browser's conditional headers: a 304 would make it reuse a page personalized for an older level.
  const req: Request = new Request(origin ? new URL(url.pathname + url.search, origin) : url, new Request(c.req.raw, { redirect: 'manual' }) as Request);
  req.headers.delete('If-None-Match');
  req.headers.delete('If-Modified-Since');
  if (origin) return fetch(req);
  if (!c.env.ASSETS) throw new Error('no site: set "origin" in leadlevel.site.json');
  return c.env.ASSETS.fetch(req);
}

const cacheKey = (url: string) => new Request(new URL(new URL(url).pathname, 'https://leadlevel-page-cache.internal').toString());

/**
 * The visitor's anonymous id from the cookies: the SDK's `ll_aid`, else analytics.js's `ajs_anonymous_id`,
 * which analytics-next writes JSON-encoded (`"…"`, URL-escaped as %22…%22) and older versions bare.
 */
export function visitorCookie(c: Context): string | undefined {
  const own = getCookie(c, 'll_aid');
  if (own) return own;
  const ajs = getCookie(c, 'ajs_anonymous_id')?.trim();
  if (!ajs) return undefined;
  if (ajs.startsWith('"')) {
    try {
      const id: unknown = JSON.parse(ajs);
      return typeof id === 'string' && id.trim() ? id : undefined;
    } catch {
      return undefined;
    }
  }
  return ajs;
}

export async function servePage(c: Context<{ Bindings: Env }>): Promise<Response> {
  let res: Response;
  const cache = (globalThis as unknown as { caches?: { default: Cache } }).caches?.default;
  try {
    res = await fromOrigin(c);
    if (res.status >= 500) throw new Error(`origin answered ${res.status}`);
    const shareable =
      !res.headers.has('Set-Cookie') && !/private|no-store/i.test(res.headers.get('Cache-Control') ?? '') && !/\*|cookie|authorization/i.test(res.headers.get('Vary') ?? '');
    if (cache && res.ok && shareable && c.req.method === 'GET' && (res.headers.get('Content-Type') ?? '').includes('text/html')) {
      // Keep the unpersonalized page, to serve if the origin becomes unreachable (only pages the origin itself
      // would let a shared cache keep: never one visitor's page).
      const copy = new Response(res.clone().body, res);
      copy.headers.set('Cache-Control', 'public, max-age=86400');
      c.executionCtx.waitUntil(cache.put(cacheKey(c.req.url), copy).catch(() => {}));
    }
  } catch {
    // Only a page view falls back to the last good copy: a failed form post must look failed.
    const stale = c.req.method === 'GET' ? await cache?.match(cacheKey(c.req.url)).catch(() => undefined) : undefined;
    if (!stale) {
      return c.html('<!doctype html><title>Back soon</title><p>This page is temporarily unavailable. Please try again in a moment.</p>', 503, { 'Retry-After': '30' });
    }
    res = stale;
  }
  if (!(res.headers.get('Content-Type') ?? '').includes('text/html') || c.env.EDGE_PERSONALIZATION === 'off') return res;
  const aid = visitorCookie(c);
  const { level, known } = await visitorLevel(c.env, aid);
  let variants: ReturnType<typeof variantsFor> = {};
  let experience: Experience = { show: level, holdout: false };
  try {
    experience = await experienceOf(c.env, known ? aid : undefined, level);
    variants = variantsFor(experience.show);
  } catch {
    // An invalid site file must not take pages down: they keep their own content.
  }
  const content = Object.fromEntries(Object.entries(variants).map(([slot, v]) => [slot, v.html]));
  if (!known || !aid || c.req.method !== 'GET') return personalize(res, experience.show, content);
  // A known visitor's page records what it showed (the holdout's evidence), once the page has gone out whole.
  const seen: Shown[] = [];
  const now = Date.now();
  const path = new URL(c.req.url).pathname;
  return personalize(res, experience.show, content, {
    slot: (slot) => seen.push({ slot, variant: variants[slot].variant }),
    end: () => {
      if (seen.length) c.executionCtx.waitUntil(recordExposure(c.env, aid, exposureEvents(seen, { ...experience, level }, path, now), now).catch(() => {}));
    },
  });
}

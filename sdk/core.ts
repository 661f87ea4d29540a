/**
 * The browser SDK: capture (page views, SPA navigation, visible time on pricing pages, forms), delivery that
 * neither loses nor doubles an event (persistent queue, keepalive/beacon on unload, backoff), privacy, and
 * personalization from the level the collector returns with every batch.
 *
 * Every byte counts (budget: 3,000 bytes min+gzip with idb-keyval), and nothing here may throw into the host
 * page: every entry point and listener runs through `safe`.
 */
import { createStore, promisifyRequest as done, type UseStore } from 'idb-keyval';
import { KEEPALIVE_BUDGET_BYTES } from '../shared/limits.js';

export interface Options {
  /** The site key (pk_…). */
  site: string;
  /** The collector's origin, e.g. https://collect.example.com. */
  api: string;
  /** `required`: capture nothing until consent(true). */
  consent?: string;
  /** Honour Do Not Track and Global Privacy Control (default true). */
  respectDnt?: boolean;
  /** Track automated browsers (navigator.webdriver); default false. */
  allowAutomation?: boolean;
  /** Paths whose visible time is reported as `Page Engaged` (default ['/pricing']); each path and below. */
  dwellPaths?: string[];
  /** The level shown when none is known in time (default `cold`). */
  defaultLevel?: string;
  /** How long to wait for the level before showing the default (ms, default 1500). */
  levelTimeout?: number;
}

export interface Leadlevel {
  track(event: string, properties?: Record<string, unknown>): void;
  page(properties?: Record<string, unknown>): void;
  identify(userId?: string | Record<string, unknown> | null, traits?: Record<string, unknown>): void;
  /** The visitor's current level id, or null before it is known. */
  level(): string | null;
  on(event: 'level', fn: (level: string) => void): void;
  consent(granted: boolean): void;
}

type Msg = Record<string, unknown> & { messageId: string };

const VERSION = '0.1.0';
// Report visible time every 15 s: a 180 s threshold is crossed on a report, while the visitor still reads.
const DWELL_STEP = 15;
// Keep keepalive bodies well inside the browser's 64 KiB in-flight budget, which other scripts share.
const UNLOAD_BYTES = KEEPALIVE_BUDGET_BYTES - 4096;
const BATCH_BYTES = 400_000;
const BATCH_EVENTS = 50;

export function safe<A extends unknown[], R>(fn: (...a: A) => R): (...a: A) => R | undefined {
  return (...a) => {
    try {
      return fn(...a);
    } catch {
      // A tracker must never break the page it measures.
    }
  };
}

const ls = {
  get: (k: string) => safe(() => localStorage.getItem(k))(),
  set: (k: string, v: string | null) => safe(() => (v === null ? localStorage.removeItem(k) : localStorage.setItem(k, v)))(),
};

const uuid = () => safe(() => crypto.randomUUID())() ?? Date.now().toString(36) + Math.random().toString(36).slice(2);
const LIBRARY = { name: 'leadlevel.js', version: VERSION };

export function create(o: Options): Leadlevel {
  const w = window;
  const d = document;
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
  const html = d.documentElement;
  const api = o.api.replace(/\/$/, '') + '/v1/';
  const dwellPaths = o.dwellPaths ?? ['/pricing'];
  const fallback = o.defaultLevel ?? 'cold';

  const aid = ls.get('ll_aid') ?? uuid();
  ls.set('ll_aid', aid);
  // A first-party cookie too, so an edge in front of the site can personalize the first paint.
  safe(() => (d.cookie = `ll_aid=${aid};path=/;max-age=31536000;samesite=lax`))();
  let uid = ls.get('ll_uid');

  let store: UseStore | undefined = safe(() => (w.indexedDB ? createStore('leadlevel', 'queue') : undefined))();
  const queue: Msg[] = [];
  const sending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waitUntil = 0;
  let attempt = 0;

  const privacy = o.respectDnt !== false && (nav.doNotTrack === '1' || nav.globalPrivacyControl === true);
  const bot = nav.webdriver && !o.allowAutomation;
  let consent = ls.get('ll_consent');
  const on = () => consent === '1' || (consent !== '0' && o.consent !== 'required' && !privacy && !bot);

  let level: string | null = null;
  const listeners: ((l: string) => void)[] = [];

  // idb-keyval's store, used directly: put, delete and getAll are all the queue needs.
  const idb = <T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest | void) =>
    store?.(mode, (s) => done(fn(s) ?? s.transaction) as Promise<T>).catch(() => (store = undefined) as T);
  const persist = (m: Msg) => idb('readwrite', (s) => void s.put(m, m.messageId));
  const forget = (ids: string[]) => {
    for (const id of ids) {
      const i = queue.findIndex((m) => m.messageId === id);
      if (i >= 0) queue.splice(i, 1);
      sending.delete(id);
    }
    idb('readwrite', (s) => ids.forEach((id) => s.delete(id)));
  };

  const show = safe((l: string) => {
    html.setAttribute('data-ll-level', l);
    // The snippet's CSS handles the default ids; this covers any other ids a model uses.
    d.querySelectorAll<HTMLElement>('[data-ll-show]').forEach((el) => {
      el.style.display = el.getAttribute('data-ll-show')!.split(/\s+/).includes(l) ? '' : 'none';
    });
  });
  const setLevel = (l: unknown, content?: Record<string, string>) => {
    if (!l || typeof l != 'string' || l == level) return;
    level = l;
    show(l);
    // data-ll-slot elements get what the edge serves for this level (configured HTML, trusted like the page).
    for (const k in content) d.querySelectorAll(`[data-ll-slot="${k}"]`).forEach((el) => (el.innerHTML = content[k]));
    listeners.forEach((fn) => safe(fn)(l));
  };

  const flush = safe((unload?: boolean) => {
    clearTimeout(timer);
    timer = undefined;
    if (!on() || (!unload && !nav.onLine)) return; // 'online' flushes
    if (!unload && Date.now() < waitUntil) return schedule(waitUntil - Date.now()); // keep the retry
    const batch: Msg[] = [];
    let bytes = 100;
    for (const m of queue) {
      if (sending.has(m.messageId)) continue;
      const size = JSON.stringify(m).length + 1;
      if (batch.length >= BATCH_EVENTS || bytes + size > (unload ? UNLOAD_BYTES : BATCH_BYTES)) break;
      batch.push(m);
      bytes += size;
    }
    if (!batch.length) return;
    const ids = batch.map((m) => m.messageId);
    const body = JSON.stringify({ writeKey: o.site, batch, sentAt: new Date().toISOString() });
    // text/plain: a simple request, no CORS preflight; keepalive: it survives the page going away.
    const req = safe(() => fetch(api + 'batch', { method: 'POST', body, keepalive: bytes < UNLOAD_BYTES, headers: { 'Content-Type': 'text/plain' } }))();
    if (!req) {
      // Over the keepalive budget: a beacon queues it with the browser. No answer comes back, so the events
      // stay queued and are sent again later; the collector dedupes them by messageId.
      if (unload) safe(() => nav.sendBeacon(api + 'batch', new Blob([body], { type: 'text/plain' })))();
      return;
    }
    ids.forEach((id) => sending.add(id));
    req
      .then(async (res) => {
        if (res.ok) {
          attempt = 0;
          forget(ids);
          const r = await res.json();
          setLevel(r.lead?.level, r.content);
        } else if (res.status === 429 || res.status >= 500) {
          throw Number(res.headers.get('Retry-After')) * 1000 || 0;
        } else {
          forget(ids); // permanent: retrying would fail the same way
        }
      })
      .catch((retryMs: unknown) => {
        ids.forEach((id) => sending.delete(id));
        // Exponential backoff with full jitter, 1 s doubling to a minute; a 429's Retry-After wins.
        const delay = Math.max(typeof retryMs === 'number' ? retryMs : 0, Math.random() * Math.min(60_000, 1000 * 2 ** attempt++));
        waitUntil = Date.now() + delay;
        schedule(delay);
      })
      .then(() => queue.length > sending.size && schedule(0));
  });
  const schedule = (ms = 400) => {
    if (!timer) timer = setTimeout(() => flush(), ms);
  };

  const enqueue = (m: Record<string, unknown>) => {
    if (!on()) return;
    const msg: Msg = {
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      anonymousId: aid,
      ...(uid ? { userId: uid } : {}),
      ...m,
      context: { library: LIBRARY, ...(m.context as object) },
    };
    queue.push(msg);
    persist(msg);
    queue.length - sending.size >= 10 ? flush() : schedule();
  };

  // Visible time on dwell pages, reported as Page Engaged {path, seconds}; each report supersedes the last.
  let dwell: { path: string; ms: number; since: number; told: number } | undefined;
  const visible = () => d.visibilityState === 'visible';
  const tick = safe((final?: boolean) => {
    if (!dwell) return;
    const now = performance.now();
    if (dwell.since) dwell.ms += now - dwell.since;
    dwell.since = visible() ? now : 0;
    const s = Math.floor(dwell.ms / 1000);
    if (s > dwell.told && (final || s >= dwell.told + DWELL_STEP)) {
      dwell.told = final ? s : s - (s % DWELL_STEP);
      enqueue({ type: 'track', event: 'Page Engaged', properties: { path: dwell.path, seconds: dwell.told } });
    }
  });
  setInterval(() => tick(), 1000);

  let path: string | undefined;
  const page = safe((props?: Record<string, unknown>) => {
    const p = location.pathname;
    if (!props && p === path) return; // a replaceState or a re-render of the same page is not a new view
    tick(true);
    path = p;
    // UTM tags as Segment's context.campaign (utm_campaign is its `name`).
    const campaign: Record<string, string> = {};
    new URLSearchParams(location.search).forEach((v, k) => k.startsWith('utm_') && (campaign[k == 'utm_campaign' ? 'name' : k.slice(4)] = v));
    enqueue({
      type: 'page',
      properties: { path: p, url: location.href, title: d.title, referrer: d.referrer, ...props },
      context: { campaign },
    });
    dwell = dwellPaths.some((x) => p === x || p.startsWith(x + '/')) ? { path: p, ms: 0, since: visible() ? performance.now() : 0, told: 0 } : undefined;
    if (level) show(level);
  });

  const identify = safe((id?: string | Record<string, unknown> | null, traits?: Record<string, unknown>) => {
    if (id && typeof id === 'object') [id, traits] = [null, id];
    if (typeof id === 'string' && id) ls.set('ll_uid', (uid = id));
    enqueue({ type: 'identify', traits: traits ?? {} });
  });

  const track = safe((event: string, properties?: Record<string, unknown>) => {
    if (typeof event === 'string' && event) enqueue({ type: 'track', event, properties: properties ?? {} });
  });

  // Forms marked data-ll-form="<kind>": the submit is the signal; an email field identifies the lead.
  // Only that field is read: never passwords, card numbers or hidden inputs.
  d.addEventListener(
    'submit',
    safe((e: Event) => {
      const form = (e.target as Element).closest?.('form[data-ll-form]') as HTMLFormElement | null;
      if (!form) return;
      const email = form.querySelector<HTMLInputElement>('input[type=email],input[name=email]:not([type=password]):not([type=hidden])')?.value.trim();
      if (email && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) identify(null, { email });
      const kind = form.getAttribute('data-ll-form');
      track('Form Submitted', { form: form.getAttribute('name') || form.id || kind, kind });
      flush(true); // the page is about to go
    }),
    true,
  );

  // Single-page apps: history changes are page views (the same path twice is not).
  for (const k of ['pushState', 'replaceState'] as const) {
    const orig = history[k];
    history[k] = function (this: History, ...a: Parameters<History['pushState']>) {
      const r = orig.apply(this, a);
      page(); // now, not later: several pushes in one task are several views
      return r;
    };
  }
  w.addEventListener('popstate', () => page());
  d.addEventListener('visibilitychange', () => (tick(true), visible() || flush(true)));
  w.addEventListener('pagehide', () => (tick(true), flush(true)));
  w.addEventListener('online', () => ((waitUntil = 0), flush()));

  // Events left by earlier pages (offline, collector down, closed mid-send) go out now, exactly once.
  idb<Msg[]>('readonly', (s) => s.getAll())?.then((old) => {
    for (const m of old ?? []) if (!queue.some((q) => q.messageId === m.messageId)) queue.unshift(m);
    if (old?.length) schedule(0);
  });

  // The level: from the server-rendered page, else from the answer to this page view (sent at once below),
  // else the default.
  const ssr = html.getAttribute('data-ll-ssr') && html.getAttribute('data-ll-level');
  if (ssr) setLevel(ssr);
  else if (!on()) setLevel(fallback);
  setTimeout(() => level || setLevel(fallback), o.levelTimeout ?? 1500);

  const api_: Leadlevel = {
    track,
    page: (props) => page(props ?? {}),
    identify,
    level: () => level,
    on: safe((ev: string, fn: (l: string) => void) => ev === 'level' && typeof fn === 'function' && listeners.push(fn) && level && safe(fn)(level)) as Leadlevel['on'],
    consent: safe((granted: boolean) => {
      ls.set('ll_consent', (consent = granted ? '1' : '0'));
      if (granted) return (path = undefined), page();
      // Withdrawn: nothing more is captured, and what was waiting is purged.
      forget(queue.map((m) => m.messageId));
      dwell = undefined;
    }),
  };
  page();
  flush();
  return api_;
}

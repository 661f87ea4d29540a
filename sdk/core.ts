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
}

export interface Leadlevel {
  track(event: string, properties?: Record<string, unknown>): void;
  page(properties?: Record<string, unknown>): void;
  /**
   * A userId needs proof under a site key: `userHash` is hex HMAC-SHA256(IDENTITY_SECRET, userId), computed by
   * the site's backend. Later events need no userId: the visitor's anonymous id now leads to the user's lead.
   */
  identify(userId?: string | Record<string, unknown> | null, traits?: Record<string, unknown>, options?: { userHash?: string }): void;
  /** The visitor's current level id, or null before it is known. */
  level(): string | null;
  on(event: 'level', fn: (level: string) => void): void;
  consent(granted: boolean): void;
}

type Msg = Record<string, unknown> & { messageId: string };

// Report visible time every 15 s: a 180 s threshold is crossed on a report, while the visitor still reads.
const DWELL_STEP = 15;
// Keep keepalive bodies well inside the browser's 64 KiB in-flight budget, which other scripts share.
const UNLOAD_BYTES = KEEPALIVE_BUDGET_BYTES - 4096;
const BATCH_BYTES = 400_000;

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

// randomUUID exists only in secure contexts (https, localhost).
const uuid = () => crypto.randomUUID?.() ?? Date.now().toString(36) + Math.random().toString(36).slice(2);

export function create(o: Options): Leadlevel {
  const w = window;
  const d = document;
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
  const html = d.documentElement;
  const api = o.api.replace(/\/$/, '') + '/v1/';
  const dwellPaths = o.dwellPaths ?? ['/pricing'];
  const fallback = o.defaultLevel ?? 'cold';

  const aid = ls.get('ll_aid') ?? uuid();
  // Stored (and a first-party cookie, so an edge in front of the site can personalize the first paint) only
  // while tracking is allowed; withdrawn consent removes them.
  const keep = (yes: boolean) => {
    ls.set('ll_aid', yes ? aid : null);
    safe(() => (d.cookie = `ll_aid=${yes ? aid : ''};path=/;max-age=${yes ? 31536000 : 0};samesite=lax`))();
  };

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
  if (on()) keep(true);

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
  // data-ll-slot elements get what the edge serves for the level (configured HTML, trusted like the page).
  let slots: Record<string, string> | undefined;
  const fill = () => {
    for (const k in slots) d.querySelectorAll(`[data-ll-slot="${k}"]`).forEach((el) => (el.innerHTML = slots![k]));
  };
  const setLevel = (l: string | undefined, content?: Record<string, string>) => {
    if (content) (slots = content), fill();
    if (!l || l == level) return;
    level = l;
    show(l);
    listeners.forEach((fn) => safe(fn)(l));
  };

  const flush = safe((unload?: boolean) => {
    clearTimeout(timer);
    timer = undefined;
    if (!on() || (!unload && !nav.onLine)) return; // 'online' flushes
    if (!unload && Date.now() < waitUntil) return schedule(waitUntil - Date.now()); // keep the retry
    // One batch in flight at a time (the next goes when it is answered): answers arrive in order, so an older
    // batch's level never overwrites a newer one. Only a page that is going sends beside it.
    if (!unload && sending.size) return;
    const batch: Msg[] = [];
    let bytes = 100;
    for (const m of queue) {
      if (sending.has(m.messageId)) continue;
      const size = JSON.stringify(m).length + 1;
      if (bytes + size > (unload ? UNLOAD_BYTES : BATCH_BYTES)) break;
      batch.push(m);
      bytes += size;
    }
    if (!batch.length) return;
    const ids = batch.map((m) => m.messageId);
    const body = JSON.stringify({ writeKey: o.site, batch, sentAt: new Date().toISOString() });
    // The page may be going: events created now cannot reach IndexedDB in time, so the queue also waits in
    // localStorage (synchronous) until the next page; a resend of what did arrive is deduped by messageId.
    if (unload) ls.set('ll_unload', JSON.stringify(queue));
    // text/plain: a simple request, no CORS preflight; keepalive: it survives the page going away (inside the
    // browser's 64 KiB budget; a batch over it fails and waits for the next page).
    const req = safe(() => fetch(api + 'batch', { method: 'POST', body, keepalive: bytes < UNLOAD_BYTES, headers: { 'Content-Type': 'text/plain' } }))();
    if (!req) return;
    ids.forEach((id) => sending.add(id));
    req
      .then(async (res) => {
        if (res.ok) {
          attempt = 0;
          // Stored, or named in `rejected` (refused for good: sending it again cannot help): forgotten either way.
          forget(ids);
          const r = await res.json();
          setLevel(r.show, r.content); // the level to show: the visitor's own, or the default when held out
        } else if (res.status === 429 || res.status >= 500) {
          throw Number(res.headers.get('Retry-After')) * 1000 || 0;
        } else {
          // Permanent (a whole-request refusal such as two visitors in one batch). When the answer names messages
          // (batch[3]…), only those are dropped; the rest go again.
          const bad = ((await res.json()).problems ?? []).map((p: { path: string }) => ids[p.path.match(/^batch\[(\d+)/)?.[1] as never]);
          forget(bad.filter(Boolean).length ? bad : ids);
          ids.forEach((id) => sending.delete(id));
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
      ...m,
    };
    queue.push(msg);
    persist(msg);
    queue.length - sending.size >= 10 ? flush() : schedule();
  };

  // Visible time on dwell pages, reported as Page Engaged {path, seconds}; each report supersedes the last.
  let dwell: { _path: string; _ms: number; _since: number; _told: number } | undefined;
  const visible = () => d.visibilityState === 'visible';
  const tick = safe((final?: boolean) => {
    if (!dwell) return;
    const now = performance.now();
    if (dwell._since) dwell._ms += now - dwell._since;
    dwell._since = visible() ? now : 0;
    const s = Math.floor(dwell._ms / 1000);
    if (s > dwell._told && (final || s >= dwell._told + DWELL_STEP)) {
      dwell._told = final ? s : s - (s % DWELL_STEP);
      enqueue({ type: 'track', event: 'Page Engaged', properties: { path: dwell._path, seconds: dwell._told } });
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
    dwell = dwellPaths.some((x) => p === x || p.startsWith(x + '/')) ? { _path: p, _ms: 0, _since: visible() ? performance.now() : 0, _told: 0 } : undefined;
    if (level) show(level), fill();
  });

  const identify = safe((id?: string | Record<string, unknown> | null, traits?: Record<string, unknown>, opt?: { userHash?: string }) => {
    if (id && typeof id === 'object') [id, traits] = [null, id];
    enqueue({ type: 'identify', traits: traits ?? {}, ...(typeof id == 'string' && id.trim() ? { userId: id, context: { userHash: opt?.userHash } } : {}) });
  });

  const track = safe((event: string, properties?: Record<string, unknown>) => {
    if (typeof event === 'string' && event) enqueue({ type: 'track', event, properties: properties ?? {} });
  });

  const sent = new WeakSet<Element>();
  // Forms marked data-ll-form="<kind>": the submit is the signal; an email field identifies the lead.
  // Only that field is read: never passwords, card numbers or hidden inputs.
  d.addEventListener(
    'submit',
    safe((e: Event) => {
      const form = (e.target as Element).closest?.('form[data-ll-form]') as HTMLFormElement | null;
      // Once per form and page view: retries after a failed validation are one intent, not several.
      if (!form || sent.has(form)) return;
      sent.add(form);
      // The collector checks the address; an invalid one identifies nobody.
      const email = form.querySelector<HTMLInputElement>('input[type=email]')?.value.trim();
      if (email) identify(null, { email });
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
  const restore = (old?: Msg[] | null) => {
    for (const m of old ?? []) if (!queue.some((q) => q.messageId === m.messageId)) queue.unshift(m), persist(m);
    if (old?.length) schedule(0);
  };
  restore(safe(() => JSON.parse(ls.get('ll_unload') ?? '[]'))());
  ls.set('ll_unload', null);
  idb<Msg[]>('readonly', (s) => s.getAll())?.then(restore);

  // The level: from the server-rendered page, else from the answer to this page view (sent at once below),
  // else the default.
  const ssr = html.getAttribute('data-ll-ssr') && html.getAttribute('data-ll-level');
  if (ssr) setLevel(ssr);
  else if (!on()) setLevel(fallback);
  setTimeout(() => level || setLevel(fallback), 1500); // as the snippet's own timeout

  const api_: Leadlevel = {
    track,
    page: (props) => page(props ?? {}),
    identify,
    level: () => level,
    on: safe((ev: string, fn: (l: string) => void) => ev === 'level' && typeof fn === 'function' && listeners.push(fn) && level && safe(fn)(level)) as Leadlevel['on'],
    consent: safe((granted: boolean) => {
      const was = on();
      ls.set('ll_consent', (consent = granted ? '1' : '0'));
      keep(granted);
      dwell = undefined; // time read before consent is not reported
      if (granted) return was || ((path = undefined), page());
      // Withdrawn: nothing more is captured, and what was waiting is purged.
      forget(queue.map((m) => m.messageId));
    }),
  };
  page();
  flush();
  return api_;
}

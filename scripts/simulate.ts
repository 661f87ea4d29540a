/**
 * A simulated population for a local deployment (`npm start` loads it once), the tests and the benchmarks: leads
 * from several sources and campaigns, each behaving as its source's visitors do — page views, pricing dwell,
 * forms, identifies with traits for fit, email opens and clicks, a few bounces and unsubscribes, and some
 * conversions (`Opportunity Created`, `Deal Won`) — over the last `days` days, sent through the real ingest path:
 * Segment's batch API with the secret key, which takes historical timestamps. The same seed and `now` give the
 * same population, message ids included, so loading it twice counts nothing twice.
 *
 *   node scripts/simulate.js --url http://127.0.0.1:8787 [--seed 1] [--leads 1000] [--days 90]
 *   (bundled on the fly by scripts/start.js; from code: `import { simulate } from './scripts/simulate.js'`)
 */

export interface SimulateOptions {
  url: string;
  seed?: number;
  leads?: number;
  days?: number;
  /** The secret key (Basic user name, as Segment's libraries send it). */
  secret?: string;
  /** The population's "now": its events are in the `days` before it. */
  now?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  onProgress?: (sent: number, total: number) => void;
}

export interface SimulationSummary {
  leads: number;
  messages: number;
  bySource: Record<string, number>;
  identified: number;
  opportunities: number;
  won: number;
  bounced: number;
  unsubscribed: number;
  rejected: number;
}

type Message = Record<string, unknown> & { type: string; messageId: string; timestamp: string };

/** mulberry32: a tiny seeded generator (deterministic per seed; not for anything secret). */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
  const weighted = <T extends { weight: number }>(xs: readonly T[]) => {
    let r = next() * xs.reduce((s, x) => s + x.weight, 0);
    for (const x of xs) if ((r -= x.weight) < 0) return x;
    return xs[xs.length - 1];
  };
  return { next, pick, weighted, chance: (p: number) => next() < p, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

interface Profile {
  name: string;
  weight: number;
  utm?: { source: string; medium: string; campaigns: string[] };
  referrers?: string[];
  /** How engaged its visitors are: sessions, pages and forms scale with it. */
  intent: number;
  /** Share of its visitors who give an email. */
  identify: number;
  landing: string[];
}

/** Sources as a B2B marketing site sees them: paid search converts, newsletters open, direct is mostly one look. */
export const PROFILES: readonly Profile[] = [
  { name: 'google/cpc', weight: 22, utm: { source: 'google', medium: 'cpc', campaigns: ['brand-search', 'competitor-terms', 'lead-scoring-generic'] }, referrers: ['https://www.google.com/'], intent: 0.65, identify: 0.35, landing: ['/', '/pricing', '/features'] },
  { name: 'linkedin/paid-social', weight: 14, utm: { source: 'linkedin', medium: 'paid-social', campaigns: ['abm-q2', 'cmo-webinar'] }, referrers: ['https://www.linkedin.com/'], intent: 0.45, identify: 0.3, landing: ['/', '/webinars/scoring-101', '/case-studies/acme'] },
  { name: 'newsletter/email', weight: 16, utm: { source: 'newsletter', medium: 'email', campaigns: ['monthly-digest', 'product-launch'] }, intent: 0.5, identify: 0.9, landing: ['/blog/intent-signals', '/blog/engagement-index', '/features'] },
  { name: 'organic', weight: 22, referrers: ['https://www.google.com/', 'https://www.bing.com/', 'https://duckduckgo.com/'], intent: 0.35, identify: 0.15, landing: ['/blog/intent-signals', '/blog/mql-vs-sql', '/'] },
  { name: 'direct', weight: 16, intent: 0.25, identify: 0.1, landing: ['/'] },
  { name: 'referral', weight: 10, referrers: ['https://www.g2.com/products/leadlevel', 'https://partner.example.net/tools'], intent: 0.55, identify: 0.3, landing: ['/', '/compare/alternatives', '/pricing'] },
];

const PAGES = ['/', '/features', '/pricing', '/blog/intent-signals', '/blog/mql-vs-sql', '/case-studies/acme', '/docs/getting-started', '/compare/alternatives', '/about'];
const SITE = 'https://www.example.com';
const SIZES = [5, 30, 120, 500, 2500];
const INDUSTRIES = ['software', 'financial services', 'manufacturing', 'healthcare', 'retail', 'education'];
const ROLES = ['VP Marketing', 'Marketing Ops Manager', 'CMO', 'Sales Director', 'Student', 'Engineer', 'Founder'];
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'CA', 'IN', 'BR'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One lead's messages, in time order. */
function leadMessages(r: ReturnType<typeof generator>, seed: number, n: number, now: number, days: number, s: SimulationSummary): Message[] {
  const p = r.weighted(PROFILES);
  s.bySource[p.name] = (s.bySource[p.name] ?? 0) + 1;
  const anonymousId = `sim-${seed}-${n}`;
  const out: Message[] = [];
  let i = 0;
  let userId: string | undefined;
  const id = () => ({ ...(userId ? { userId } : { anonymousId }), messageId: `sim-${seed}-${n}-${i++}` });
  const add = (t: number, m: Record<string, unknown>) => out.push({ ...id(), timestamp: new Date(Math.min(t, now - 1_000)).toISOString(), ...m } as unknown as Message);
  const start = now - days * DAY + r.next() * days * DAY;
  const campaign = p.utm ? { source: p.utm.source, medium: p.utm.medium, name: r.pick(p.utm.campaigns) } : undefined;
  const referrer = p.referrers ? r.pick(p.referrers) : '';
  const sessions = 1 + Math.floor(-Math.log(1 - r.next() * 0.999) * p.intent * 3);
  let t = start;
  let identified = false;
  let wantsDemo = false;
  for (let k = 0; k < sessions && t < now; k++) {
    const pages = 1 + Math.floor(r.next() * (1 + p.intent * 5));
    for (let j = 0; j < pages; j++) {
      const path = k === 0 && j === 0 ? r.pick(p.landing) : r.chance(p.intent * 0.4) ? '/pricing' : r.pick(PAGES);
      const first = k === 0 && j === 0;
      const url = SITE + path + (first && campaign ? `?utm_source=${campaign.source}&utm_medium=${campaign.medium}&utm_campaign=${campaign.name}` : '');
      add(t, { type: 'page', properties: { path, url, title: path, referrer: first ? referrer : SITE + '/' }, ...(first && campaign ? { context: { campaign } } : {}) });
      if (path === '/pricing') add(t + 30_000, { type: 'track', event: 'Page Engaged', properties: { path, seconds: r.chance(p.intent * 0.5) ? r.int(180, 400) : r.int(10, 170) } });
      t += r.int(20, 240) * 1_000;
    }
    // A form, now and then: the more intent, the heavier the form.
    if (r.chance(p.intent * 0.5) || (!identified && r.chance(p.identify * 0.5))) {
      const kind = r.chance(p.intent * 0.3) ? 'demo_request' : r.pick(['newsletter', 'content_download', 'webinar_signup', 'case_study_download']);
      if (kind === 'demo_request') wantsDemo = true;
      if (!identified && (r.chance(p.identify) || kind === 'demo_request')) {
        identified = true;
        const email = `${anonymousId}@${r.pick(['acme.example', 'globex.example', 'initech.example', 'umbrella.example', 'mail.example'])}`;
        add(t, { type: 'identify', anonymousId, userId: `sim-user-${seed}-${n}`, traits: { email, employees: r.pick(SIZES), industry: r.pick(INDUSTRIES), title: r.pick(ROLES), country: r.pick(COUNTRIES) } });
        userId = `sim-user-${seed}-${n}`;
      }
      add(t + 5_000, { type: 'track', event: 'Form Submitted', properties: { form: kind, kind } });
    }
    t += r.chance(0.5) ? r.int(1, 7) * DAY : r.int(8, 30) * DAY;
  }
  if (!identified) return out;
  s.identified++;
  // Email: the newsletter's readers open most; a few bounce or unsubscribe.
  let e = start + DAY;
  const mails = r.int(0, p.name === 'newsletter/email' ? 8 : 3);
  for (let k = 0; k < mails && e < now; k++, e += r.int(5, 14) * DAY) {
    if (r.chance(0.01)) {
      add(e, { type: 'track', event: 'Email Bounced', properties: { type: 'hard' } });
      s.bounced++;
      return out;
    }
    if (r.chance(0.55)) add(e + HOUR, { type: 'track', event: 'Email Opened', properties: { campaign: 'digest' } });
    if (r.chance(0.15 + p.intent * 0.2)) add(e + 2 * HOUR, { type: 'track', event: 'Email Link Clicked', properties: { url: SITE + '/blog/engagement-index' } });
    if (r.chance(0.02)) {
      add(e + 3 * HOUR, { type: 'track', event: 'Unsubscribed' });
      s.unsubscribed++;
      return out;
    }
  }
  if (r.chance(p.intent * 0.2)) add(start + r.int(2, 20) * DAY, { type: 'track', event: 'Webinar Attended' });
  // Sales turns some demo requests into opportunities, a few of them into won deals.
  if (wantsDemo && r.chance(0.45)) {
    const at = t + r.int(1, 10) * DAY;
    if (at < now) {
      add(at, { type: 'track', event: 'Opportunity Created', properties: { amount: r.int(5, 80) * 1_000 } });
      s.opportunities++;
      if (r.chance(0.35) && at + 14 * DAY < now) {
        add(at + r.int(14, 40) * DAY, { type: 'track', event: 'Deal Won', properties: { amount: r.int(5, 80) * 1_000 } });
        s.won++;
      }
    }
  }
  return out;
}

/** The population's messages, lead by lead (the same for the same seed and `now`). */
export function population(seed: number, leads: number, days: number, now: number): { messages: Message[][]; summary: SimulationSummary } {
  const r = generator(seed);
  const summary: SimulationSummary = { leads, messages: 0, bySource: {}, identified: 0, opportunities: 0, won: 0, bounced: 0, unsubscribed: 0, rejected: 0 };
  const messages: Message[][] = [];
  for (let n = 0; n < leads; n++) {
    const m = leadMessages(r, seed, n, now, days, summary);
    summary.messages += m.length;
    messages.push(m);
  }
  return { messages, summary };
}

/** Messages per request: well inside Segment's 500 KB a request (a message here is under 1 KB). */
const PER_BATCH = 200;

/** Generates the population and sends it to the collector at `url`; resolves with what was sent. */
export async function simulate(o: SimulateOptions): Promise<SimulationSummary> {
  const { seed = 1, leads = 1_000, days = 90, secret = 'sk_dev', now = Date.now(), concurrency = 4 } = o;
  const { messages, summary } = population(seed, leads, days, now);
  // A lead's messages stay in one request, in order: its anonymous history and its identify arrive together.
  const batches: Message[][] = [[]];
  for (const lead of messages) {
    if (batches[batches.length - 1].length + lead.length > PER_BATCH) batches.push([]);
    batches[batches.length - 1].push(...lead);
  }
  const auth = 'Basic ' + btoa(`${secret}:`);
  let sent = 0;
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      if (!batch.length) continue;
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${o.url}/v1/batch`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ batch, sentAt: new Date().toISOString() }) }).catch((err: Error) => err);
        if (!(res instanceof Error) && res.ok) {
          const body = (await res.json()) as { rejected?: unknown[] };
          summary.rejected += body.rejected?.length ?? 0;
          break;
        }
        const why = res instanceof Error ? res.message : `${res.status} ${(await res.text()).slice(0, 300)}`;
        // Retried as is: the same message ids, so a batch that got through before its answer counts once.
        if (attempt >= 4 || (!(res instanceof Error) && res.status >= 400 && res.status < 500 && res.status !== 429)) throw new Error(`the collector refused a simulated batch: ${why}`);
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
      sent += batch.length;
      o.onProgress?.(sent, summary.messages);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summary;
}

/** `--name value` arguments of a command line. */
export function simulateArgs(argv: string[]): Partial<SimulateOptions> {
  const out: Partial<SimulateOptions> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--url') out.url = v;
    else if (k === '--seed' || k === '--leads' || k === '--days') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${k} must be a whole number above 0 (got ${v})`);
      out[k.slice(2) as 'seed' | 'leads' | 'days'] = n;
    } else throw new Error(`unknown argument ${k} (--url, --seed, --leads, --days)`);
  }
  return out;
}

/**
 * `GET /v1/insights/levels`, `/engagement-index` (worker/insights.ts), `/personalization`
 * (worker/holdout-insights.ts) and `/conversion` (worker/learning.ts), secret key only: queries on the D1 index,
 * with their parameters checked and every bad one named (400). `from`/`to` are read the same way by all of them
 * and by `GET /v1/export` (routes/export.ts).
 */
import { Hono, type Context } from 'hono';
import { DEFAULT_HOLDOUT, DEFAULT_SEED } from '../../shared/learn/analysis.js';
import { parseIsoDate, type Problem } from '../../shared/validate.js';
import { authenticate, requireSecret } from '../auth.js';
import { listParams } from '../cursor.js';
import type { Env } from '../env.js';
import { invalid } from '../errors.js';
import { DAY_MS } from '../../shared/limits.js';
import { engagementIndex, GROUPINGS, INTERVALS, levelInsights, type Grouping, type Interval, type Window } from '../insights.js';
import { holdoutRunning, holdoutShare } from '../experience.js';
import { conversionReport, storeFit } from '../learning.js';
import { publishedModel } from '../models.js';
import { personalizationLift } from '../holdout-insights.js';
import { activeModel } from '../model.js';

type Ctx = Context<{ Bindings: Env }>;

/** A window is at most this many instants (a year and a month of days). */
export const MAX_POINTS = 400;
/** Without `from`, a window of this many days before `to`. */
const DEFAULT_DAYS = 30;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
/** Instants before 2000 or after 2100 are a mistake, not a window. */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

/** An instant or a date (a date `to` is the end of that UTC day, a date `from` its start); NaN when it is neither. */
function instant(v: string, end: boolean): number {
  // The validator's parser refuses impossible dates (2026-02-30, 24:00) that Date.parse would roll over.
  const t = DATE.test(v) || INSTANT.test(v) ? parseIsoDate(v) : undefined;
  if (t === undefined) return NaN;
  return DATE.test(v) && end ? t + DAY_MS - 1 : t;
}

/**
 * `from` and `to` as every insights route and the export read them, each bad one a problem naming it; a missing
 * one is undefined unless `defaults` gives it (`to` now, `from` so many days before `to`).
 */
export function period(one: (name: string) => string | undefined, problems: Problem[], defaults?: { to: number; days: number }): { from?: number; to?: number } {
  const parse = (name: 'from' | 'to') => {
    const v = one(name);
    if (v === undefined) return undefined;
    const t = instant(v, name === 'to');
    if (Number.isNaN(t) || t < EARLIEST || t > LATEST) problems.push({ path: name, reason: `must be a date (2026-04-01) or an ISO 8601 instant with its zone (2026-04-01T09:00:00Z), from 2000 to 2100 (got "${v.slice(0, 40)}")` });
    return t;
  };
  const to = parse('to') ?? defaults?.to;
  const from = parse('from') ?? (defaults && to !== undefined ? to - defaults.days * DAY_MS : undefined);
  if (!problems.length && from !== undefined && to !== undefined && from >= to) problems.push({ path: 'from', reason: 'must be before to' });
  return { from, to };
}

/** The window of a request; `now` is `to` when it is not given. */
function windowOf(one: (name: string) => string | undefined, problems: Problem[], now: number): Window {
  const interval = (one('interval') ?? 'day') as Interval;
  if (!Object.hasOwn(INTERVALS, interval)) problems.push({ path: 'interval', reason: `must be day or week (got "${interval.slice(0, 20)}")` });
  const { from, to } = period(one, problems, { to: now, days: DEFAULT_DAYS }) as Required<Window>;
  if (!problems.length && (to - from) / INTERVALS[interval] >= MAX_POINTS) {
    problems.push({ path: interval === 'day' ? 'from' : 'interval', reason: `the window from ${one('from') ?? 'its default'} to ${one('to') ?? 'now'} has more than ${MAX_POINTS} ${interval}s; shorten it${interval === 'day' ? ' or use interval=week' : ''}` });
  }
  return { from, to, interval };
}

/** A number parameter, its problem named when `ok` refuses it. */
function numberParam(one: (name: string) => string | undefined, problems: Problem[], name: string, fallback: number, ok: (n: number) => boolean, reason: string): number {
  const v = one(name);
  if (v === undefined) return fallback;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!ok(n)) problems.push({ path: name, reason: `${reason} (got "${v.slice(0, 20)}")` });
  return n;
}

export function params(c: Ctx, allowed: string[], what = 'insights') {
  requireSecret(authenticate(c), what);
  return listParams(c.req.queries(), allowed);
}

export const insightRoutes = new Hono<{ Bindings: Env }>()
  .get('/levels', async (c) => {
    const { problems, one } = params(c, ['from', 'to', 'interval']);
    const w = windowOf(one, problems, Date.now());
    if (problems.length) invalid(problems);
    return c.json(await levelInsights(c.env.INDEX, activeModel(), w));
  })
  .get('/engagement-index', async (c) => {
    const { problems, one } = params(c, ['by', 'from', 'to', 'interval', 'limit']);
    const by = (one('by') ?? 'source') as Grouping;
    if (!Object.hasOwn(GROUPINGS, by)) problems.push({ path: 'by', reason: `must be one of ${Object.keys(GROUPINGS).join(', ')} (got "${by.slice(0, 20)}")` });
    const limitRaw = one('limit') ?? '20';
    const limit = Number(limitRaw);
    if (!/^\d+$/.test(limitRaw) || limit < 1 || limit > 100) problems.push({ path: 'limit', reason: `must be a whole number of groups from 1 to 100 (got "${limitRaw.slice(0, 20)}")` });
    const w = windowOf(one, problems, Date.now());
    if (problems.length) invalid(problems);
    return c.json(await engagementIndex(c.env.INDEX, activeModel(), w, by, limit));
  })
  .get('/personalization', async (c) => {
    const { problems, one } = params(c, ['from', 'to']);
    // One comparison over the window, not a series: a window of weeks bounds it (the default is 30 days).
    const w = windowOf((name) => (name === 'interval' ? 'week' : one(name)), problems, Date.now());
    if (problems.length) invalid(problems);
    // Whether the deployment holds anybody out now (a share, and HOLDOUT_SECRET to draw the groups with).
    return c.json({ share: holdoutShare(c.env), running: holdoutRunning(c.env), ...(await personalizationLift(c.env.INDEX, w.from, w.to)) });
  })
  .get('/conversion', async (c) => {
    const { problems, one } = params(c, ['from', 'to', 'holdout', 'seed']);
    const { from, to } = period(one, problems);
    const holdout = numberParam(one, problems, 'holdout', DEFAULT_HOLDOUT, (n) => n >= 0 && n <= 0.9, 'must be a share from 0 to 0.9');
    const seed = numberParam(one, problems, 'seed', DEFAULT_SEED, Number.isSafeInteger, 'must be a whole number');
    if (problems.length) invalid(problems);
    // Under the published version (not the bundled file, which a publication replaces), on the leads it scored.
    const model = await publishedModel(c.env);
    const report = await conversionReport(c.env.INDEX, model, { from, to }, { holdout, seed });
    // The whole index with the defaults is the fit lead reads apply: stored while we have it.
    if (from === undefined && to === undefined && holdout === DEFAULT_HOLDOUT && seed === DEFAULT_SEED) await storeFit(c.env.INDEX, model, report, Date.now());
    return c.json(report);
  });

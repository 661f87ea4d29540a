/**
 * `GET /v1/insights/levels`, `/engagement-index` and `/personalization` (secret key): worker/insights.ts's and
 * worker/holdout-insights.ts's queries
 * on the D1 index, with their parameters checked and every bad one named (400).
 */
import { Hono, type Context } from 'hono';
import type { Problem } from '../../shared/validate.js';
import { authenticate, requireSecret } from '../auth.js';
import { listParams } from '../cursor.js';
import type { Env } from '../env.js';
import { invalid } from '../errors.js';
import { DAY_MS } from '../../shared/limits.js';
import { engagementIndex, GROUPINGS, INTERVALS, levelInsights, type Grouping, type Interval, type Window } from '../insights.js';
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

/** An instant or a date (a date `to` is the end of that UTC day, a date `from` its start). */
function instant(v: string, end: boolean): number {
  if (DATE.test(v)) {
    const t = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(t) ? NaN : end ? t + DAY_MS - 1 : t;
  }
  return INSTANT.test(v) ? Date.parse(v) : NaN;
}

/** The window of a request; `now` is `to` when it is not given. */
function windowOf(one: (name: string) => string | undefined, problems: Problem[], now: number): Window {
  const interval = (one('interval') ?? 'day') as Interval;
  if (!Object.hasOwn(INTERVALS, interval)) problems.push({ path: 'interval', reason: `must be day or week (got "${interval.slice(0, 20)}")` });
  const parse = (name: 'from' | 'to', fallback: number) => {
    const v = one(name);
    if (v === undefined) return fallback;
    const t = instant(v, name === 'to');
    if (Number.isNaN(t) || t < EARLIEST || t > LATEST) problems.push({ path: name, reason: `must be a date (2026-04-01) or an ISO 8601 instant with its zone (2026-04-01T09:00:00Z), from 2000 to 2100 (got "${v.slice(0, 40)}")` });
    return t;
  };
  const to = parse('to', now);
  const from = parse('from', to - DEFAULT_DAYS * DAY_MS);
  if (!problems.length) {
    if (from >= to) problems.push({ path: 'from', reason: 'must be before to' });
    else if ((to - from) / INTERVALS[interval] >= MAX_POINTS) problems.push({ path: interval === 'day' ? 'from' : 'interval', reason: `the window from ${one('from') ?? 'its default'} to ${one('to') ?? 'now'} has more than ${MAX_POINTS} ${interval}s; shorten it${interval === 'day' ? ' or use interval=week' : ''}` });
  }
  return { from, to, interval };
}

function params(c: Ctx, allowed: string[]) {
  requireSecret(authenticate(c), 'insights');
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
    return c.json(await personalizationLift(c.env.INDEX, w.from, w.to));
  });

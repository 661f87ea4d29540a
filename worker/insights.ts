/**
 * Insights (SPEC "The lead index, the work queue and insights"): the level distribution, per-level KPIs and the
 * engagement index, as queries on the D1 index (the `leads` rows and their `level_changes`, migrations/0010) —
 * never a walk over lead objects. Definitions are in the README ("Insights"); each is one aggregate here.
 *
 * A series is a list of instants ending at `to`, one `interval` apart (day or week), the first no earlier than
 * `from`; a value of the series is the state at that instant. Counts over time are cumulative sums of entries
 * and exits per bucket (a span entered in a bucket adds one, its end takes one away), so a series costs one pass
 * over the history whatever its length, instead of one count per instant.
 */
import type { CompiledModel } from '../shared/compile.js';
import { DAY_MS } from '../shared/limits.js';

export const INTERVALS = { day: DAY_MS, week: 7 * DAY_MS } as const;
export type Interval = keyof typeof INTERVALS;
/** The attributions the engagement index groups by, and their columns in `leads`. */
export const GROUPINGS = { source: 'source', medium: 'medium', campaign: 'campaign', referrer: 'referrer' } as const;
export type Grouping = keyof typeof GROUPINGS;
/** A lead with no value for the grouping (no campaign name, no referrer) is in this group. */
export const NO_GROUP = '(none)';
const WEEK_MS = 7 * DAY_MS;

export interface Window {
  from: number;
  to: number;
  interval: Interval;
}

/** The instants of a series: ending at `to`, `step` apart, the first at or after `from`. */
export function instants(w: Window): number[] {
  const step = INTERVALS[w.interval];
  const n = Math.floor((w.to - w.from) / step) + 1;
  return Array.from({ length: n }, (_, k) => w.to - (n - 1 - k) * step);
}

/** SQL for the bucket of a time column: the first instant at or after it (-1: before the first instant). */
const bucket = (column: string) => `MAX(-1, ?3 - 1 - CAST((?1 - ${column}) / ?2 AS INTEGER))`;

/** Per group and bucket, a signed count: what each instant of the series adds up from the start. */
type Deltas = Map<string, number[]>;

function accumulate(deltas: Deltas, group: string, b: number, n: number, count: number, length: number): void {
  let row = deltas.get(group);
  if (!row) deltas.set(group, (row = new Array<number>(length + 1).fill(0)));
  row[b + 1] += n * count;
}

/** Every group's deltas added up (a lead is in exactly one group). */
function sumRows(deltas: Deltas): number[] {
  let out: number[] = [];
  for (const row of deltas.values()) out = row.map((v, k) => v + (out[k] ?? 0));
  return out;
}

/** Running sums of a deltas row, as the values at each instant (the row's first cell is everything before). */
const running = (row: number[] | undefined, length: number) => {
  const out = new Array<number>(length).fill(0);
  let sum = row?.[0] ?? 0;
  for (let k = 0; k < length; k++) out[k] = sum += row?.[k + 1] ?? 0;
  return out;
};

const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 4) : null);
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const days = (ms: number | null) => (ms === null ? null : round(ms / DAY_MS, 2));
const iso = (t: number) => new Date(t).toISOString();

/** The rank from which a level counts as engaged: the model's `engaged` level, else its middle one. */
export function engagedRank(model: CompiledModel): number {
  const ids = model.types[0].tierIds;
  const own = ids.indexOf('engaged');
  return own >= 0 ? own : Math.floor(ids.length / 2);
}

interface KpiRecord {
  r: number;
  spans: number;
  avg_ms: number | null;
}
interface CohortRecord {
  r: number;
  leads: number;
  progressed: number;
  converted: number;
  to_opp: number | null;
}

/** `GET /v1/insights/levels`. */
export async function levelInsights(db: D1Database, model: CompiledModel, w: Window) {
  const t = model.types[0];
  const at = instants(w);
  const n = at.length;
  const args = [w.to, INTERVALS[w.interval], n];
  const [now, entries, exits, kpis, cohorts, totals] = await db.batch([
    db.prepare('SELECT level_rank AS r, COUNT(*) AS n FROM leads GROUP BY level_rank'),
    db.prepare(`SELECT to_rank AS r, ${bucket('at')} AS b, COUNT(*) AS n FROM level_changes WHERE at <= ?1 GROUP BY 1, 2`).bind(...args),
    db.prepare(`SELECT to_rank AS r, ${bucket('until')} AS b, COUNT(*) AS n FROM level_changes WHERE until IS NOT NULL AND until <= ?1 GROUP BY 1, 2`).bind(...args),
    // Time in level: every span entered in the window, to its end, or to `to` for one not ended by then.
    db.prepare('SELECT to_rank AS r, COUNT(*) AS spans, AVG(MIN(COALESCE(until, ?2), ?2) - at) AS avg_ms FROM level_changes WHERE at >= ?1 AND at <= ?2 GROUP BY to_rank').bind(w.from, w.to),
    // The leads that entered each level in the window, from their first entry there: how many went higher
    // afterwards, how many converted, and how long after entering the opportunity came (all by `to`).
    db
      .prepare(
        `WITH e AS (SELECT lead_key, to_rank AS r, MIN(at) AS entered FROM level_changes WHERE at >= ?1 AND at <= ?2 GROUP BY lead_key, to_rank)
         SELECT e.r AS r, COUNT(*) AS leads,
           SUM(EXISTS (SELECT 1 FROM level_changes h WHERE h.lead_key = e.lead_key AND h.at > e.entered AND h.at <= ?2 AND h.to_rank > e.r)) AS progressed,
           SUM(l.converted_at >= e.entered AND l.converted_at <= ?2) AS converted,
           AVG(CASE WHEN COALESCE(l.opportunity_at, l.converted_at) BETWEEN e.entered AND ?2 THEN COALESCE(l.opportunity_at, l.converted_at) - e.entered END) AS to_opp
         FROM e JOIN leads l ON l.key = e.lead_key GROUP BY e.r`,
      )
      .bind(w.from, w.to),
    db
      .prepare(
        `SELECT SUM(first_seen_at BETWEEN ?1 AND ?2) AS seen, SUM(converted_at BETWEEN ?1 AND ?2) AS converted,
           AVG(CASE WHEN COALESCE(opportunity_at, converted_at) BETWEEN ?1 AND ?2 THEN COALESCE(opportunity_at, converted_at) - first_seen_at END) AS to_opp
         FROM leads`,
      )
      .bind(w.from, w.to),
  ]);
  const deltas: Deltas = new Map();
  for (const r of entries.results as { r: number; b: number; n: number }[]) accumulate(deltas, String(r.r), r.b, r.n, 1, n);
  for (const r of exits.results as { r: number; b: number; n: number }[]) accumulate(deltas, String(r.r), r.b, r.n, -1, n);
  const counts: Record<string, number[]> = {};
  t.tierIds.forEach((id, r) => (counts[id] = running(deltas.get(String(r)), n)));
  const nowBy = new Map((now.results as { r: number; n: number }[]).map((r) => [r.r, r.n]));
  const kpiBy = new Map((kpis.results as unknown as KpiRecord[]).map((r) => [r.r, r]));
  const cohortBy = new Map((cohorts.results as unknown as CohortRecord[]).map((r) => [r.r, r]));
  const total = (totals.results[0] ?? {}) as { seen: number | null; converted: number | null; to_opp: number | null };
  const top = t.tierIds.length - 1;
  return {
    from: iso(w.from),
    to: iso(w.to),
    interval: w.interval,
    model: { id: model.id, version: model.version },
    total: {
      now: [...nowBy.values()].reduce((a, b) => a + b, 0),
      firstSeen: total.seen ?? 0,
      converted: total.converted ?? 0,
      daysToOpportunity: days(total.to_opp),
    },
    levels: t.tierIds.map((id, r) => {
      const k = kpiBy.get(r);
      const c = cohortBy.get(r);
      return {
        id,
        name: t.tierNames[r],
        rank: r,
        now: nowBy.get(r) ?? 0,
        entered: c?.leads ?? 0,
        averageDaysInLevel: days(k?.avg_ms ?? null),
        spans: k?.spans ?? 0,
        progressed: r < top ? (c?.progressed ?? 0) : null,
        progressionRate: r < top ? ratio(c?.progressed ?? 0, c?.leads ?? 0) : null,
        converted: c?.converted ?? 0,
        conversionRate: ratio(c?.converted ?? 0, c?.leads ?? 0),
        daysToOpportunity: days(c?.to_opp ?? null),
      };
    }),
    series: { at: at.map(iso), counts, total: at.map((_, k) => t.tierIds.reduce((s, id) => s + counts[id][k], 0)) },
  };
}

export interface GroupIndex {
  group: string;
  index: number | null;
  engaged: number;
  leads: number;
  weekOverWeek: { before: number | null; change: number | null };
  series: { index: (number | null)[]; engaged: number[]; leads: number[] };
}

/**
 * `GET /v1/insights/engagement-index`: per group, at each instant, the leads first seen by then (the
 * denominator) and those of them at the engaged rank or above then; the index is their ratio. The series is
 * reckoned from a week before `to` at least, for the week-over-week change, and shown from `from`.
 */
export async function engagementIndex(db: D1Database, model: CompiledModel, w: Window, by: Grouping, limit: number) {
  const step = INTERVALS[w.interval];
  const at = instants(w);
  // Enough instants to reach back a week from `to`.
  const back = WEEK_MS / step;
  const n = Math.max(at.length, back + 1);
  const shown = at.length;
  const col = GROUPINGS[by];
  const e = engagedRank(model);
  const args = [w.to, step, n, e];
  const g = `COALESCE(l.${col}, '${NO_GROUP}')`;
  const [entries, exits, seen] = await db.batch([
    db.prepare(`SELECT ${g} AS g, ${bucket('c.at')} AS b, COUNT(*) AS n FROM level_changes c JOIN leads l ON l.key = c.lead_key WHERE c.to_rank >= ?4 AND c.at <= ?1 GROUP BY 1, 2`).bind(...args),
    db.prepare(`SELECT ${g} AS g, ${bucket('c.until')} AS b, COUNT(*) AS n FROM level_changes c JOIN leads l ON l.key = c.lead_key WHERE c.to_rank >= ?4 AND c.until IS NOT NULL AND c.until <= ?1 GROUP BY 1, 2`).bind(...args),
    db.prepare(`SELECT COALESCE(${col}, '${NO_GROUP}') AS g, ${bucket('first_seen_at')} AS b, COUNT(*) AS n FROM leads WHERE first_seen_at <= ?1 GROUP BY 1, 2`).bind(...args.slice(0, 3)),
  ]);
  const engaged: Deltas = new Map();
  const leads: Deltas = new Map();
  for (const r of entries.results as { g: string; b: number; n: number }[]) accumulate(engaged, r.g, r.b, r.n, 1, n);
  for (const r of exits.results as { g: string; b: number; n: number }[]) accumulate(engaged, r.g, r.b, r.n, -1, n);
  for (const r of seen.results as { g: string; b: number; n: number }[]) accumulate(leads, r.g, r.b, r.n, 1, n);
  const groupOf = (name: string, eng: number[], all: number[]): GroupIndex => {
    const index = eng.map((v, k) => ratio(v, all[k]));
    const nowIndex = index[n - 1];
    const before = index[n - 1 - back];
    return {
      group: name,
      index: nowIndex,
      engaged: eng[n - 1],
      leads: all[n - 1],
      weekOverWeek: { before, change: nowIndex !== null && before !== null ? round(nowIndex - before, 4) : null },
      series: { index: index.slice(n - shown), engaged: eng.slice(n - shown), leads: all.slice(n - shown) },
    };
  };
  const groups = [...leads.keys()].map((name) => groupOf(name, running(engaged.get(name), n), running(leads.get(name), n)));
  groups.sort((a, b) => b.leads - a.leads || (a.group < b.group ? -1 : 1));
  const overallEng = running(sumRows(engaged), n);
  const overallAll = running(sumRows(leads), n);
  const t = model.types[0];
  return {
    from: iso(w.from),
    to: iso(w.to),
    interval: w.interval,
    by,
    engagedLevels: t.tierIds.slice(e),
    series: { at: at.map(iso) },
    overall: (({ group: _, ...rest }) => rest)(groupOf('all', overallEng, overallAll)),
    groups: groups.slice(0, limit),
    moreGroups: Math.max(0, groups.length - limit),
  };
}

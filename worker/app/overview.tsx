/**
 * The overview: leads per level now, the engagement index over the last 30 days overall and per source (a
 * chart and a table), and the per-level KPIs — worker/insights.ts's queries on the D1 index, as the insights API runs them.
 */
import type { Context } from 'hono';
import { DAY_MS } from '../../shared/limits.js';
import { engagementIndex, levelInsights, type Window } from '../insights.js';
import { activeModel } from '../model.js';
import { ChartData, Layout, NumCell, num, pct, when } from './layout.js';
import { changeCursor } from './live.js';
import type { AppEnv } from './session.js';

const WINDOW_DAYS = 30;
const SOURCES_SHOWN = 6;

/**
 * The 30-day aggregates (KPIs, the engagement index) are reckoned from the whole level history — about a second at
 * 100,000 leads (`npm run bench dashboard`) — so each isolate reuses them for a minute; the counts per level now
 * are one indexed query, read on every load, so a level change shows at once.
 */
const AGGREGATES_MS = 60_000;
type Aggregates = Awaited<ReturnType<typeof aggregatesOf>>;
// The settled figures, not the promise: workerd does not let one request wait on another request's I/O.
let aggregates: { until: number; value: Aggregates } | undefined;

function aggregatesOf(db: D1Database, now: number) {
  const w: Window = { from: now - WINDOW_DAYS * DAY_MS, to: now, interval: 'day' };
  const model = activeModel();
  return Promise.all([levelInsights(db, model, w), engagementIndex(db, model, w, 'source', SOURCES_SHOWN)]);
}

async function cachedAggregates(db: D1Database, now: number): Promise<Aggregates> {
  if (aggregates && aggregates.until > now) return aggregates.value;
  const value = await aggregatesOf(db, now);
  aggregates = { until: now + AGGREGATES_MS, value };
  return value;
}

/** Leads per level now, every level of the model (none: 0). */
async function levelCounts(db: D1Database) {
  const { results } = await db.prepare('SELECT level_rank AS r, COUNT(*) AS n FROM leads GROUP BY level_rank').all<{ r: number; n: number }>();
  const by = new Map(results.map((x) => [x.r, x.n]));
  const t = activeModel().types[0];
  return t.tierIds.map((id, r) => ({ id, name: t.tierNames[r], now: by.get(r) ?? 0 }));
}

const seconds = (at: (string | null)[]) => at.map((t) => (t ? Date.parse(t) / 1000 : 0));

export async function overview(c: Context<AppEnv>) {
  const model = activeModel();
  const [[levels, index], counts, cursor] = await Promise.all([cachedAggregates(c.env.INDEX, Date.now()), levelCounts(c.env.INDEX), changeCursor(c.env.INDEX)]);
  const total = counts.reduce((s, l) => s + l.now, 0);
  const chart = {
    x: seconds(index.series.at),
    percent: true,
    series: [{ label: 'All leads', values: index.overall.series.index, percent: true }, ...index.groups.map((g) => ({ label: g.group, values: g.series.index, percent: true }))],
  };
  return c.html(
    <Layout title="Overview" section="overview" session={c.get('session')} live={cursor}>
      <p class="muted" aria-live="polite" id="live-status">
        Live: this page updates when levels change.
      </p>
      <div id="overview-live" data-live-region>
        <div class="grid">
          <section class="panel" aria-labelledby="dist-h">
            <h2 id="dist-h">Leads per level now</h2>
            <table>
              <thead>
                <tr>
                  <th>Level</th>
                  <th class="n">Leads</th>
                  <th>Share</th>
                </tr>
              </thead>
              <tbody>
                {[...counts].reverse().map((l) => (
                  <tr data-level={l.id}>
                    <td>
                      <a href={`/app/queue?level=${encodeURIComponent(l.id)}`} class={`level level-${l.id}`}>
                        {l.name}
                      </a>
                    </td>
                    <td class="n" data-count>
                      {l.now}
                    </td>
                    <td>
                      <meter min={0} max={Math.max(total, 1)} value={l.now} aria-label={`${l.name}: ${pct(total ? l.now / total : null)}`} />
                    </td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th>All</th>
                  <th class="n" data-total>
                    {total}
                  </th>
                  <th />
                </tr>
              </tfoot>
            </table>
          </section>
          <section class="panel" aria-labelledby="ei-h">
            <h2 id="ei-h">Engagement index</h2>
            <p>
              <strong class="big">{pct(index.overall.index)}</strong> of {index.overall.leads} leads are {index.engagedLevels.map((id) => model.types[0].tierNames[model.types[0].tierIds.indexOf(id)] ?? id).join(', ')} · week over week{' '}
              {index.overall.weekOverWeek.change === null ? '—' : `${index.overall.weekOverWeek.change >= 0 ? '+' : ''}${(index.overall.weekOverWeek.change * 100).toFixed(1)} points`}
            </p>
            <div class="chart" data-chart="ei-chart" role="img" aria-label="Engagement index per day over the last 30 days, overall and per source" />
            <ChartData id="ei-chart" data={chart} />
          </section>
        </div>
        <section aria-labelledby="src-h">
          <h2 id="src-h">By source (first touch)</h2>
          <div class="table-wrap">
            <table class="cards">
              <thead>
                <tr>
                  <th>Source</th>
                  <th class="n">Leads</th>
                  <th class="n">Engaged or above</th>
                  <th class="n">Index</th>
                  <th class="n">Week over week</th>
                </tr>
              </thead>
              <tbody>
                {index.groups.map((g) => (
                  <tr>
                    <td data-label="Source">{g.group}</td>
                    <NumCell label="Leads">{g.leads}</NumCell>
                    <NumCell label="Engaged or above">{g.engaged}</NumCell>
                    <NumCell label="Index">{pct(g.index)}</NumCell>
                    <NumCell label="Week over week">{g.weekOverWeek.change === null ? '—' : `${(g.weekOverWeek.change * 100).toFixed(1)} pts`}</NumCell>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {index.moreGroups > 0 && <p class="muted">and {index.moreGroups} smaller sources (GET /v1/insights/engagement-index lists them all).</p>}
        </section>
        <section aria-labelledby="kpi-h">
          <h2 id="kpi-h">Per level, leads that entered it in the last {WINDOW_DAYS} days</h2>
          <p class="muted">Figures of the last {WINDOW_DAYS} days as of {when(index.to)}, refreshed every minute; the counts per level above are live.</p>
          <div class="table-wrap">
            <table class="cards">
              <thead>
                <tr>
                  <th>Level</th>
                  <th class="n">Entered</th>
                  <th class="n">Avg days in level</th>
                  <th class="n">Progression rate</th>
                  <th class="n">Conversion rate</th>
                  <th class="n">Days to opportunity</th>
                </tr>
              </thead>
              <tbody>
                {levels.levels.map((l) => (
                  <tr>
                    <td data-label="Level">{l.name}</td>
                    <NumCell label="Entered">{l.entered}</NumCell>
                    <NumCell label="Avg days in level">{num(l.averageDaysInLevel)}</NumCell>
                    <NumCell label="Progression rate">{pct(l.progressionRate)}</NumCell>
                    <NumCell label="Conversion rate">{pct(l.conversionRate)}</NumCell>
                    <NumCell label="Days to opportunity">{num(l.daysToOpportunity)}</NumCell>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </Layout>,
  );
}

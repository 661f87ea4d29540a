/**
 * A lead's profile: traits and fit, level, scores and conversion probability, a chart of its level over time (the
 * index's level history) with both scores as its ledger builds them and the model publications marked, the timeline of events with each one's points and reasons,
 * the ledger as the lead read gives it, its SLAs and the notifications sent about it.
 */
import type { Context } from 'hono';
import type { LeadView, LedgerLine } from '../../shared/api.js';
import { fail } from '../errors.js';
import { candidateKeys } from '../identity.js';
import { leadStub } from '../lead/index.js';
import type { ProbabilityView } from '../learning.js';
import { levelChanges } from '../lead-index.js';
import { activeModel } from '../model.js';
import { listPublications, type ModelPublication } from '../models.js';
import { listDeliveries } from '../notify/deliveries.js';
import { checkId, readLead } from '../routes/leads.js';
import { ChartData, CsrfField, Layout, NumCell, num, when } from './layout.js';
import { levelBadge } from './queue.js';
import type { AppEnv } from './session.js';

/** The timeline shows the newest events; the API pages through all of them (GET /v1/leads/{id}/events). */
const EVENTS_SHOWN = 100;

/** A trait's or a treatment's value as text: lists joined, objects as `key: value`. */
const show = (v: unknown): string =>
  typeof v === 'string' ? v : Array.isArray(v) ? v.map(show).join(', ') : v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join(', ') : JSON.stringify(v);

function Facts(props: { rows: [string, unknown][] }) {
  return (
    <dl class="facts">
      {props.rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v as string}</dd>
        </>
      ))}
    </dl>
  );
}

/** A vertical mark on a chart: when a model version was published. */
export interface ChartMarker {
  x: number;
  label: string;
}

/**
 * The chart: the level's rank as steps (the index's level history), the two scores as the ledger builds them
 * (each entry's running sum from the ledger's opening balance on), and a mark at each model publication in the
 * chart's span.
 */
function chartOf(changes: { at: number; rank: number }[], ledger: LedgerLine[], publications: ModelPublication[], now: number) {
  const t = activeModel().types[0];
  const entries = ledger.map((l) => ({ at: Date.parse(l.at), lead: l.counts === 'engagement' ? 0 : l.points, engagement: l.counts === 'lead' ? 0 : l.points }));
  const times = [...new Set([...changes.map((c) => c.at), ...entries.map((e) => e.at), now])].sort((a, b) => a - b);
  let ci = -1;
  let ei = 0;
  let lead = 0;
  let engagement = 0;
  const rank: (number | null)[] = [];
  const leadScore: (number | null)[] = [];
  const engagementScore: (number | null)[] = [];
  const round = (v: number) => Math.round(Math.max(0, v) * 10) / 10;
  for (const at of times) {
    while (ci + 1 < changes.length && changes[ci + 1].at <= at) ci++;
    while (ei < entries.length && entries[ei].at <= at) {
      lead += entries[ei].lead;
      engagement += entries[ei++].engagement;
    }
    rank.push(ci >= 0 ? changes[ci].rank : null);
    // Before the ledger's first entry (its opening balance) the scores are not in the read.
    leadScore.push(ei > 0 ? round(lead) : null);
    engagementScore.push(ei > 0 ? round(engagement) : null);
  }
  const markers: ChartMarker[] = publications.filter((p) => Date.parse(p.at) >= times[0] && Date.parse(p.at) <= now).map((p) => ({ x: Date.parse(p.at) / 1000, label: `model v${p.version}` }));
  return {
    x: times.map((at) => at / 1000),
    right: 'pts',
    levels: t.tierNames,
    markers,
    series: [
      { label: `Level (0 ${t.tierNames[0]} … ${t.tierIds.length - 1} ${t.tierNames[t.tierIds.length - 1]})`, values: rank, steps: true },
      { label: 'Lead score', values: leadScore, scale: 'pts', steps: true },
      // Dashed: it often runs on the lead score's line.
      { label: 'Engagement score', values: engagementScore, scale: 'pts', steps: true, dash: [6, 4] },
    ],
  };
}

/** The lead's conversion probability as a sentence, or why there is none. */
export function probabilityText(lead: Pick<ProbabilityView, 'conversionProbability' | 'conversionModel'>): string {
  const m = lead.conversionModel;
  if (lead.conversionProbability === null || lead.conversionProbability === undefined) return `No conversion probability: ${m?.reason ?? 'no conversion model yet'}`;
  return `${Math.round(lead.conversionProbability * 100)} % chance to convert (calibrated on ${m.conversions} outcome${m.conversions === 1 ? '' : 's'} of ${m.leads} leads${m.fittedAt ? `, fitted ${when(m.fittedAt)}` : ''})`;
}

const COUNTS = { both: 'both scores', lead: 'lead score', engagement: 'engagement score' } as const;

/**
 * The ledger as the lead read gives it (shared/ledger.ts): every entry of the primary scoring type, oldest first,
 * with the score it counts toward; the entries counting toward a score add up to it, and the footer shows both sums.
 */
function Ledger(props: { lead: LeadView }) {
  const ledger = props.lead.ledger;
  if (!ledger) return <p class="muted">The ledger is not available while the lead waits to be rescored under the current model.</p>;
  // What an entry adds to each score, as shared/ledger.ts's leadPart and engagementPart count it.
  const lead = ledger.reduce((s, x) => s + (x.counts === 'engagement' ? 0 : x.points), 0);
  const engagement = ledger.reduce((s, x) => s + (x.counts === 'lead' ? 0 : x.points), 0);
  return (
    <div class="table-wrap">
      <table class="cards">
        <thead>
          <tr>
            <th>When</th>
            <th>Kind</th>
            <th>Entry</th>
            <th class="n">Points</th>
            <th>Counts toward</th>
          </tr>
        </thead>
        <tbody>
          {ledger.map((l) => (
            <tr data-ledger={l.kind}>
              <td data-label="When">{when(l.at)}</td>
              <td data-label="Kind">{l.kind}</td>
              <td data-label="Entry">
                {l.reason}
                {l.timeNote ? ` (${l.timeNote})` : ''}
              </td>
              <NumCell label="Points">{num(l.points)}</NumCell>
              <td data-label="Counts toward">{COUNTS[l.counts]}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th colspan={3}>Sum of the entries: lead score / engagement score</th>
            <th class="n" data-ledger-sum>
              {num(lead)} / {num(engagement)}
            </th>
            <th>
              scores {num(props.lead.leadScore)} / {num(props.lead.engagementScore)}
            </th>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}

export async function leadProfile(c: Context<AppEnv>) {
  const id = c.req.param('id') ?? '';
  checkId(id);
  const read = await readLead(c.env, id, (p) => c.executionCtx.waitUntil(p));
  if (!read) fail(404, 'lead_not_found', `no lead is known by "${id.slice(0, 100)}" (userId, email or anonymousId)`);
  const { key, lead } = read;
  const now = Date.now();
  const [page, changes, deliveries, publications] = await Promise.all([
    leadStub(c.env, key).events(EVENTS_SHOWN, null),
    levelChanges(c.env.INDEX, key),
    listDeliveries(c.env.INDEX, { lead: { id: lead.id, keys: [key, ...candidateKeys(id)] }, limit: 50 }),
    listPublications(c.env.INDEX),
  ]);
  const events = page?.events ?? [];
  const session = c.get('session');
  const traits = Object.entries(lead.traits ?? {});
  return c.html(
    <Layout title={lead.email ?? lead.id} section="lead" session={session}>
      {c.req.query('contacted') && (
        <p class="notice" role="status">
          Contact recorded.
        </p>
      )}
      <div class="grid">
        <section class="panel" aria-labelledby="now-h">
          <h2 id="now-h">Now</h2>
          <Facts
            rows={[
              ['Level', levelBadge(lead.level, lead.levelName)],
              ['Since', when(lead.levelSince)],
              ['Lead score', num(lead.leadScore)],
              ['Engagement score', num(lead.engagementScore)],
              ['Momentum', num(lead.momentum)],
              ['Stage', lead.stage ?? '—'],
              ['Do not contact', lead.doNotContact ? 'yes' : 'no'],
              ['Events', String(lead.events)],
              ['First seen', when(lead.firstSeenAt)],
              ['Last activity', when(lead.lastActivityAt)],
              ['Model', `${lead.model.id} v${lead.model.version}`],
              ['Ids', [lead.userId, lead.email, ...lead.anonymousIds].filter(Boolean).join(', ')],
            ]}
          />
          <p data-probability={lead.conversionProbability ?? 'none'}>{probabilityText(lead)}</p>
          <ul>
            {lead.reasons.slice(0, 1).map((r) => (
              <li>{r.text}</li>
            ))}
          </ul>
          {!lead.doNotContact && (
            <form method="post" action={`/app/leads/${encodeURIComponent(lead.id)}/contacted`}>
              <CsrfField session={session} />
              <input type="hidden" name="back" value={`/app/leads/${encodeURIComponent(lead.id)}`} />
              <button type="submit">Mark contacted</button>
            </form>
          )}
        </section>
        <section class="panel" aria-labelledby="fit-h">
          <h2 id="fit-h">Fit</h2>
          {lead.fit ? (
            <>
              <p>
                Grade <strong>{lead.fit.grade}</strong>, score {num(lead.fit.score)}
              </p>
              <ul>
                {lead.fit.reasons.map((r) => (
                  <li>
                    {r.label} ({r.trait}: {show(r.value)}): {r.points > 0 ? '+' : ''}
                    {num(r.points)}
                  </li>
                ))}
              </ul>
              {lead.fit.missing.length > 0 && <p class="muted">Not given: {lead.fit.missing.join(', ')}</p>}
            </>
          ) : (
            <p class="muted">The model has no fit section.</p>
          )}
          <h2>Traits</h2>
          {traits.length ? <Facts rows={traits.map(([k, v]) => [k, show(v.value)])} /> : <p class="muted">None yet.</p>}
        </section>
        <section class="panel" aria-labelledby="sla-h">
          <h2 id="sla-h">Response SLA</h2>
          {lead.slas?.length ? (
            <ul>
              {lead.slas.map((s) => (
                <li class={`sla-${s.state}`}>
                  {s.team}: {s.level}, {s.state}, due {when(s.dueAt)}
                  {s.metAt ? `, met ${when(s.metAt)} by ${s.metBy ?? 'someone'}` : ''}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No SLA started.</p>
          )}
          <h2>Treatment</h2>
          {lead.treatment && typeof lead.treatment === 'object' ? <Facts rows={Object.entries(lead.treatment).map(([k, v]) => [k, show(v)])} /> : <p>—</p>}
        </section>
      </div>
      <section aria-labelledby="hist-h">
        <h2 id="hist-h">Level and scores over time</h2>
        <p class="muted">Steps: the level (left axis) and both scores as the ledger builds them (right axis); dashed lines: a model version published.</p>
        <div class="chart" data-chart="lead-chart" role="img" aria-label="The lead's level and scores over time, with the model publications marked" />
        <ChartData id="lead-chart" data={chartOf(changes, lead.ledger ?? [], publications, now)} />
      </section>
      <section aria-labelledby="ledger-h">
        <h2 id="ledger-h">Ledger</h2>
        <Ledger lead={lead} />
      </section>
      <section aria-labelledby="tl-h">
        <h2 id="tl-h">Timeline ({events.length === lead.events ? 'all' : `newest ${events.length} of ${lead.events}`} events)</h2>
        <div class="table-wrap">
          <table class="cards">
            <thead>
              <tr>
                <th>When</th>
                <th>Event</th>
                <th class="n">Points</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr>
                  <td data-label="When">{when(e.timestamp)}</td>
                  <td data-label="Event">
                    {e.event ?? e.type}
                    {typeof e.properties.path === 'string' ? ` ${e.properties.path}` : ''}
                  </td>
                  <NumCell label="Points">{num(e.points)}</NumCell>
                  <td data-label="Why">
                    {e.held ? `held: likely a machine (${e.held.signal}). ` : ''}
                    {e.reasons.map((r) => `${r.ruleName} ${r.points >= 0 ? '+' : ''}${num(r.points)}${r.clippedBy ? ` (capped: ${r.clippedBy})` : ''}${r.inWindow ? '' : ' (outside the window)'}`).join('; ') || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="notif-h">
        <h2 id="notif-h">Notifications sent</h2>
        {deliveries.rows.length ? (
          <div class="table-wrap">
            <table class="cards">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Type</th>
                  <th>Team</th>
                  <th>Destination</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {deliveries.rows.map((d) => (
                  <tr>
                    <td data-label="When">{when(new Date(d.createdAt).toISOString())}</td>
                    <td data-label="Type">{d.event}</td>
                    <td data-label="Team">{d.team}</td>
                    <td data-label="Destination">{d.destinationType}</td>
                    <td data-label="Status" class={`status-${d.status}`}>
                      {d.status} ({d.attempts} attempt{d.attempts === 1 ? '' : 's'})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p class="muted">None.</p>
        )}
      </section>
    </Layout>,
  );
}

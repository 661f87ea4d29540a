/**
 * Deliveries: the notifications of the deployment from D1 (newest first, by status), a Retry button on failed
 * ones and a "Send test" per team — the same code as `POST /v1/deliveries/{id}/retry` and `POST /v1/teams/{id}/test`.
 */
import type { Context } from 'hono';
import { formatProblems } from '../../shared/validate.js';
import { fromCursor, toCursor } from '../cursor.js';
import { fail } from '../errors.js';
import { DELIVERY_STATUSES, getDelivery, listDeliveries, type DeliveryStatus } from '../notify/deliveries.js';
import { teamById, teamsConfig } from '../notify/teams.js';
import { webhookSecret } from '../notify/webhook.js';
import { retryDelivery, testTeam } from '../routes/notifications.js';
import { ActionHeader, CsrfField, Layout, when } from './layout.js';
import type { AppEnv } from './session.js';

const PAGE = 50;

/** Notifications need their signing secret (as the API's routes do): a page that says so rather than a 503. */
function notConfigured(c: Context<AppEnv>): string | null {
  const { problems } = webhookSecret(c.env);
  return problems.length ? `notifications are not configured: ${formatProblems(problems)}` : null;
}

function afterOf(cursor: string | undefined): [number, string] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = fromCursor(cursor);
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // refused below
  }
  fail(400, 'invalid_cursor', 'cursor is not one this list returned; use the Next page link as is');
}

export async function deliveries(c: Context<AppEnv>) {
  const status = c.req.query('status') || undefined;
  if (status !== undefined && !DELIVERY_STATUSES.includes(status as DeliveryStatus)) fail(400, 'invalid_status', `status must be one of ${DELIVERY_STATUSES.join(', ')}`);
  const after = afterOf(c.req.query('cursor') || undefined);
  const page = await listDeliveries(c.env.INDEX, { status: status as DeliveryStatus | undefined, limit: PAGE, after });
  const session = c.get('session');
  const tested = teamById(c.req.query('tested') ?? '');
  // A retry's notice tells the delivery's recorded outcome, and only for a delivery that exists (not a link's text).
  const retriedId = c.req.query('retried');
  const retried = retriedId && retriedId.length <= 200 ? await getDelivery(c.env.INDEX, retriedId) : null;
  const problem = notConfigured(c);
  const next = new URLSearchParams(status ? { status } : {});
  if (page.after) next.set('cursor', toCursor(page.after));
  return c.html(
    <Layout title="Deliveries" section="deliveries" session={session}>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {tested && (
        <p class="notice" role="status">
          Test sent to {tested.name}: {c.req.query('ok') === '1' ? 'every destination answered.' : 'some destination failed; see the rows below and its receiver.'}
        </p>
      )}
      {retried && (
        <p class="notice" role="status">
          Delivery {retried.id} sent again: {retried.status === 'delivered' ? 'delivered.' : 'it failed again and stays queued for retries.'}
        </p>
      )}
      <section aria-labelledby="teams-h">
        <h2 id="teams-h">Teams</h2>
        <ul>
          {teamsConfig().teams.map((t) => (
            <li>
              <form method="post" action={`/app/teams/${encodeURIComponent(t.id)}/test`}>
                <CsrfField session={session} />
                {t.name} ({t.destinations.map((d) => d.type).join(', ')}){' '}
                <button type="submit" class="secondary" aria-label={`Send a test notification to ${t.name}`}>
                  Send test
                </button>
              </form>
            </li>
          ))}
        </ul>
      </section>
      <form method="get" action="/app/deliveries" class="filters">
        <label>
          Status
          <select name="status">
            <option value="">Any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option value={s} selected={status === s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <div class="table-wrap">
        <table class="cards">
          <thead>
            <tr>
              <th>When</th>
              <th>Lead</th>
              <th>Type</th>
              <th>Team</th>
              <th>Destination</th>
              <th>Status</th>
              <th>Last answer</th>
              <ActionHeader />
            </tr>
          </thead>
          <tbody>
            {page.rows.map((d) => (
              <tr data-delivery={d.id}>
                <td data-label="When">{when(new Date(d.createdAt).toISOString())}</td>
                <td data-label="Lead">{d.leadId ? <a href={`/app/leads/${encodeURIComponent(d.leadId)}`}>{d.leadId}</a> : '—'}</td>
                <td data-label="Type">{d.event}</td>
                <td data-label="Team">{d.team}</td>
                <td data-label="Destination">
                  {d.destinationType} #{d.destination}
                </td>
                <td data-label="Status" class={`status-${d.status}`}>
                  {d.status} ({d.attempts})
                </td>
                <td data-label="Last answer">{d.lastStatus ?? d.lastError ?? '—'}</td>
                <td data-label="">
                  {d.status === 'failed' && (
                    <form method="post" action={`/app/deliveries/${encodeURIComponent(d.id)}/retry`}>
                      <CsrfField session={session} />
                      <button type="submit" aria-label={`Retry delivery ${d.id}`}>
                        Retry
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page.rows.length === 0 && <p>No delivery{status ? ` is ${status}` : ' yet'}.</p>}
      <nav class="pager" aria-label="Pages">
        {page.after && <a href={`/app/deliveries?${next}`}>Next page</a>}
      </nav>
    </Layout>,
  );
}

const idParam = (c: Context<AppEnv>, what: string) => {
  const id = c.req.param('id') ?? '';
  if (!id || id.length > 100) fail(400, 'invalid_id', `${what} id is 1 to 100 characters`);
  return id;
};

export async function retry(c: Context<AppEnv>) {
  const problem = notConfigured(c);
  if (problem) fail(503, 'not_configured', problem);
  const id = idParam(c, 'a delivery');
  const d = await retryDelivery(c.env, id);
  return c.redirect(`/app/deliveries?retried=${encodeURIComponent(id)}`, 303);
}

export async function sendTest(c: Context<AppEnv>) {
  const problem = notConfigured(c);
  if (problem) fail(503, 'not_configured', problem);
  const team = teamById(idParam(c, 'a team'));
  if (!team) fail(404, 'team_not_found', `no team "${c.req.param('id')?.slice(0, 40)}" (teams: ${teamsConfig().teams.map((t) => t.id).join(', ') || 'none'})`);
  const out = await testTeam(c.env, team);
  return c.redirect(`/app/deliveries?tested=${encodeURIComponent(team.id)}&ok=${out.ok ? 1 : 0}`, 303);
}

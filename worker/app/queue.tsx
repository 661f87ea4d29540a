/**
 * The work queue per team: the filters of `GET /v1/leads` as a form (checked by the same code, worker/routes/leads.ts),
 * priority order, pages by the queue's cursor, and a "Contacted" button per lead that records the contact the way
 * `POST /v1/leads/{id}/contacted` does.
 */
import type { Context } from 'hono';
import { FIT_GRADES } from '../../shared/fit.js';
import { fail } from '../errors.js';
import { activeModel } from '../model.js';
import { teamsConfig } from '../notify/teams.js';
import { isIndexed } from '../lead-index.js';
import { checkId, queuePage, queueQueryOf, recordContact } from '../routes/leads.js';
import { ActionHeader, CsrfField, Layout, NumCell, num, when } from './layout.js';
import { changeCursor } from './live.js';
import { formOf, safeNext, type AppEnv } from './session.js';

const FILTERS = ['team', 'level', 'fit', 'stage', 'q', 'cursor'] as const;
/** Not a filter: the lead a Contacted button just recorded, for the notice. */
const NOTICE = 'contacted';
const PAGE = 25;

/** The form's query: empty fields are no filter; anything else goes to the API's checks as it is. */
function filtersOf(c: Context<AppEnv>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(c.req.queries())) {
    const given = v.filter((x) => x !== '');
    if (given.length) out[k] = given;
  }
  return out;
}

function Select(props: { name: string; label: string; value?: string; options: [string, string][] }) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">Any</option>
        {props.options.map(([v, text]) => (
          <option value={v} selected={props.value === v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

export const levelBadge = (id: string, name: string) => <span class={`level level-${id}`}>{name}</span>;

export async function queue(c: Context<AppEnv>) {
  const { [NOTICE]: done, ...given } = filtersOf(c);
  const unknown = Object.keys(given).filter((k) => !(FILTERS as readonly string[]).includes(k));
  if (unknown.length) fail(400, 'invalid_query', `the queue page has no parameter ${unknown.map((k) => `"${k.slice(0, 20)}"`).join(', ')} (${FILTERS.join(', ')})`);
  const query = queueQueryOf({ ...given, limit: [String(PAGE)], order: ['priority'] });
  // The notice names a lead only when one of that id exists: a link cannot make the page say what it likes.
  const [page, cursor, recorded] = await Promise.all([queuePage(c.env.INDEX, query), changeCursor(c.env.INDEX), done?.[0] && done[0].length <= 2_000 ? isIndexed(c.env.INDEX, done[0]) : false]);
  const t = activeModel().types[0];
  const one = (k: string) => given[k]?.[0];
  const first = new URLSearchParams(Object.entries(given).flatMap(([k, v]): [string, string][] => (k === 'cursor' ? [] : [[k, v[0]]])));
  const here = `/app/queue?${new URLSearchParams(Object.entries(given).map(([k, v]): [string, string] => [k, v[0]]))}`;
  const next = new URLSearchParams(first);
  if (page.nextCursor) next.set('cursor', page.nextCursor);
  const session = c.get('session');
  return c.html(
    <Layout title="Work queue" section="queue" session={session} live={cursor}>
      {recorded && (
        <p class="notice" role="status">
          Contact recorded for {done![0]}.
        </p>
      )}
      <form method="get" action="/app/queue" class="filters" role="search">
        <Select name="team" label="Team" value={one('team')} options={teamsConfig().teams.map((x) => [x.id, x.name])} />
        <Select name="level" label="Level" value={one('level')} options={t.tierIds.map((id, i) => [id, t.tierNames[i]])} />
        {activeModel().fit && <Select name="fit" label="Fit" value={one('fit')} options={FIT_GRADES.map((g) => [g, g])} />}
        {t.stages.length > 0 && <Select name="stage" label="Stage" value={one('stage')} options={t.stages.map((s) => [s.id, s.id])} />}
        <label>
          Id or email starts with
          <input type="search" name="q" value={one('q') ?? ''} maxlength={200} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <p class="muted" aria-live="polite" id="live-status">
        Highest level first, then momentum, then the most recent activity. Live: updates when levels change.
      </p>
      <div id="queue-live" data-live-region>
        <div class="table-wrap">
          <table class="cards">
            <thead>
              <tr>
                <th>Lead</th>
                <th>Level</th>
                <th class="n">Lead score</th>
                <th class="n">Engagement</th>
                <th class="n">Momentum</th>
                <th>Fit</th>
                <th>SLA</th>
                <th>Last activity</th>
                <ActionHeader />
              </tr>
            </thead>
            <tbody>
              {page.leads.map((l) => (
                <tr data-lead={l.id}>
                  <td data-label="Lead">
                    <a href={`/app/leads/${encodeURIComponent(l.id)}`}>{l.email ?? l.id}</a>
                  </td>
                  <td data-label="Level">{levelBadge(l.level, l.levelName)}</td>
                  <NumCell label="Lead score">{num(l.leadScore)}</NumCell>
                  <NumCell label="Engagement">{num(l.engagementScore)}</NumCell>
                  <NumCell label="Momentum">{num(l.momentum)}</NumCell>
                  <td data-label="Fit">{l.fit ? `${l.fit.grade} (${num(l.fit.score, 0)})` : '—'}</td>
                  <td data-label="SLA" class={l.sla ? `sla-${l.sla.state}` : undefined}>
                    {l.sla ? `${l.sla.state}, due ${when(l.sla.dueAt)}` : '—'}
                  </td>
                  <td data-label="Last activity">{when(l.lastActivityAt)}</td>
                  <td data-label="">
                    {l.doNotContact ? (
                      <span class="muted">Do not contact</span>
                    ) : (
                      <form method="post" action={`/app/leads/${encodeURIComponent(l.id)}/contacted`}>
                        <CsrfField session={session} />
                        <input type="hidden" name="back" value={here} />
                        {one('team') && <input type="hidden" name="team" value={one('team')} />}
                        <button type="submit" class="secondary" aria-label={`Mark ${l.email ?? l.id} contacted`}>
                          Contacted
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {page.leads.length === 0 && <p>No lead matches these filters.</p>}
        <nav class="pager" aria-label="Pages">
          {given.cursor && <a href={`/app/queue?${first}`}>First page</a>}
          {page.nextCursor && <a href={`/app/queue?${next}`}>Next page</a>}
        </nav>
      </div>
    </Layout>,
  );
}

/** `POST /app/leads/{id}/contacted`: the contact, by "dashboard" (and for the team the queue was showing), then back. */
export async function contacted(c: Context<AppEnv>) {
  const id = c.req.param('id') ?? '';
  checkId(id);
  const body = await formOf(c);
  const team = typeof body.team === 'string' && teamsConfig().teams.some((t) => t.id === body.team) ? body.team : undefined;
  const done = await recordContact(c.env, id, { by: 'dashboard', ...(team ? { team } : {}) });
  if (!done) fail(404, 'lead_not_found', `no lead is known by "${id.slice(0, 100)}"`);
  const back = safeNext(c, body.back, `/app/leads/${encodeURIComponent(id)}`);
  return c.redirect(`${back}${back.includes('?') ? '&' : '?'}contacted=${encodeURIComponent(id)}`, 303);
}

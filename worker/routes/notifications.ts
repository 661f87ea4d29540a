/**
 * Deliveries and team tests (secret key): `GET /v1/deliveries` lists notification deliveries from D1,
 * `POST /v1/deliveries/{id}/retry` queues one again in its lead's outbox (same message id), and
 * `POST /v1/teams/{id}/test` sends a `test` notification to each destination of a team and reports each result.
 */
import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { MAX_ID_LENGTH } from '../../shared/limits.js';
import { formatProblems } from '../../shared/validate.js';
import { authenticate, requireSecret } from '../auth.js';
import { fromCursor, listParams, toCursor } from '../cursor.js';
import type { Env } from '../env.js';
import { fail, invalid } from '../errors.js';
import { candidateKeys } from '../identity.js';
import { leadStub } from '../lead/index.js';
import { DELIVERY_STATUSES, enable, getDelivery, isDisabled, listDeliveries, type Delivery, type DeliveryStatus } from '../notify/deliveries.js';
import { messageId, type NotificationBody } from '../notify/message.js';
import { send, targetOf } from '../notify/send.js';
import { TEAMS_FILE, teamById, teamsConfig, type Team } from '../notify/teams.js';
import { webhookSecret } from '../notify/webhook.js';
import { attempt, INSIGHTS_KEY } from '../insights-alert.js';

type Ctx = Context<{ Bindings: Env }>;

/** Notifications need a signing secret in production, as identity proofs do (503 until it is set). */
const configured = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  requireSecret(authenticate(c), 'notifications');
  const { problems } = webhookSecret(c.env);
  if (problems.length) fail(503, 'not_configured', `notifications are not configured: ${formatProblems(problems)}`, { problems });
  await next();
});

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function show(d: Delivery) {
  let payload: unknown = null;
  try {
    payload = d.payload ? JSON.parse(d.payload) : null;
  } catch {
    payload = null;
  }
  return {
    id: d.id,
    lead: d.leadId,
    team: d.team,
    destination: { index: d.destination, type: d.destinationType },
    type: d.event,
    status: d.status,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
    deliveredAt: iso(d.deliveredAt),
    payload,
  };
}

const LIST_PARAMS = ['status', 'team', 'lead', 'limit', 'cursor'];

async function list(c: Ctx) {
  const { problems, one } = listParams(c.req.queries(), LIST_PARAMS);
  const status = one('status');
  if (status !== undefined && !DELIVERY_STATUSES.includes(status as DeliveryStatus)) problems.push({ path: 'status', reason: `must be one of ${DELIVERY_STATUSES.join(', ')}` });
  const team = one('team');
  if (team !== undefined && !teamById(team)) problems.push({ path: 'team', reason: `no team "${team.slice(0, 40)}" (teams: ${teamsConfig().teams.map((t) => t.id).join(', ') || 'none'})` });
  const lead = one('lead');
  if (lead !== undefined && (lead.length < 1 || lead.length > MAX_ID_LENGTH)) problems.push({ path: 'lead', reason: `is a lead id (userId, email or anonymousId), 1 to ${MAX_ID_LENGTH} characters` });
  const limitRaw = one('limit') ?? '50';
  const limit = Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) problems.push({ path: 'limit', reason: `must be a whole number from 1 to 200 (got "${limitRaw.slice(0, 20)}")` });
  let after: [number, string] | undefined;
  const cursor = one('cursor');
  if (cursor !== undefined) {
    try {
      const v = fromCursor(cursor);
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string') after = [v[0], v[1]];
    } catch {
      // refused below
    }
    if (!after) problems.push({ path: 'cursor', reason: 'is not one this list returned; pass nextCursor from the previous page as is' });
  }
  if (problems.length) invalid(problems);
  const page = await listDeliveries(c.env.INDEX, { status: status as DeliveryStatus | undefined, team, lead: lead ? { id: lead, keys: candidateKeys(lead) } : undefined, limit, after });
  return c.json({ deliveries: page.rows.map(show), nextCursor: page.after ? toCursor(page.after) : null });
}

function checkId(c: Ctx, what: string): string {
  const id = c.req.param('id') ?? '';
  if (!id || id.length > 100) fail(400, 'invalid_id', `${what} id is 1 to 100 characters`);
  return id;
}

export const deliveryRoutes = new Hono<{ Bindings: Env }>()
  .use('*', configured)
  .get('/', list)
  .post('/:id/retry', async (c) => {
    const now = await retryDelivery(c.env, checkId(c, 'a delivery'));
    return c.json({ delivery: show(now) }, now.status === 'delivered' ? 200 : 202);
  });

/** Sends a delivery again (the API's retry, the dashboard's button): its outcome; a 404 or 409 named when it cannot be. */
export async function retryDelivery(env: Env, id: string): Promise<Delivery> {
  const d = await getDelivery(env.INDEX, id);
  if (!d) fail(404, 'delivery_not_found', `no delivery "${id}"`);
  // Still in its lead's outbox: a second copy would be sent beside it, and their outcomes overwrite each other.
  if (d.status === 'pending') fail(409, 'delivery_pending', `delivery "${id}" is still queued (attempt ${d.attempts}); it is retried by itself, or can be retried here once it has failed`);
  if (!teamById(d.team)?.destinations[d.destination]) fail(409, 'destination_gone', `team "${d.team}" has no destination ${d.destination} any more (${TEAMS_FILE} changed)`);
  // An insights alert has no lead: it is sent again from here, with its message id.
  if (d.leadKey === INSIGHTS_KEY) await attempt(env, { ...d, status: 'pending' });
  else if (!(await leadStub(env, d.leadKey).retryDelivery(d))) fail(409, 'lead_gone', 'the lead of this delivery is no longer stored (erased), so it cannot be sent again');
  return (await getDelivery(env.INDEX, id)) ?? d;
}

/** Sends a `test` notification to each destination of a team (the API's test, the dashboard's button), each result. */
export async function testTeam(env: Env, team: Team) {
  const now = Date.now();
  const body: NotificationBody = {
    type: 'test',
    timestamp: new Date(now).toISOString(),
    data: { lead: null, change: { kind: 'test', scoringType: null, from: null, to: null, at: new Date(now).toISOString() }, reasons: [], treatment: null, team: { id: team.id, name: team.name } },
  };
  const results = await Promise.all(
    team.destinations.map(async (d, index) => {
      const msg = messageId();
      const out = await send(d, body, msg, env);
      // A destination a 410 disabled is enabled again by a test it answers.
      const target = targetOf(d);
      const wasDisabled = out.ok && !!(await isDisabled(env.INDEX, team.id, index, target));
      if (wasDisabled) await enable(env.INDEX, team.id, index, target);
      return { destination: index, type: d.type, id: msg, ok: out.ok, status: out.status, error: out.error, ...(wasDisabled ? { enabledAgain: true } : {}) };
    }),
  );
  return { team: { id: team.id, name: team.name }, ok: results.every((r) => r.ok), results };
}

export const teamRoutes = new Hono<{ Bindings: Env }>().use('*', configured).post('/:id/test', async (c) => {
  const id = checkId(c, 'a team');
  const team = teamById(id);
  if (!team) fail(404, 'team_not_found', `no team "${id}" (teams: ${teamsConfig().teams.map((t) => t.id).join(', ') || 'none'})`);
  return c.json(await testTeam(c.env, team));
});

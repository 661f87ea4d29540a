/** Reads. Secret keys read any lead; a site key reads only its own visitor's level, by anonymousId. */
import { Hono, type Context } from 'hono';
import { authenticate, requireSecret } from '../auth.js';
import type { Env } from '../env.js';
import { leadStub } from '../lead/index.js';
import { fromCursor, listParams, toCursor } from '../cursor.js';
import { fail, invalid } from '../errors.js';
import { QUEUE_ORDERS, queryQueue, type QueueOrder, type QueueQuery } from '../lead-index.js';
import type { Problem } from '../../shared/validate.js';
import { anonKey, candidateKeys, idOfKey } from '../identity.js';
import { DAY_MS } from '../../shared/limits.js';
import type { EventCursor, EventsPage } from '../../shared/api.js';
import { activeModel } from '../model.js';
import { publishedModel } from '../models.js';
import { experienceOf } from '../experience.js';
import { contentFor, treatmentFor } from '../site.js';
import { MAX_ID_LENGTH } from '../../shared/limits.js';
import { FIT_GRADES } from '../../shared/fit.js';
import { readOptionalJson } from '../body.js';
import type { Contact } from '../lead/sla.js';
import { TEAMS_FILE, teamsConfig } from '../notify/teams.js';
import { probabilityFor } from '../learning.js';

/** A contact's body: optional, and small (a note is for people, not a transcript). */
const CONTACT_BODY_BYTES = 8_192;
const CONTACT_FIELDS = ['team', 'at', 'by', 'note'];

/** `POST /v1/leads/{id}/contacted`'s body, `{ team?, at?, by?, note? }`, every problem named. */
async function contactOf(req: Request): Promise<Partial<Contact>> {
  const raw = await readOptionalJson(req, CONTACT_BODY_BYTES, `the limit is ${CONTACT_BODY_BYTES} bytes for a contact`);
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) invalid([{ path: '(body)', reason: 'must be a JSON object { team?, at?, by?, note? } or empty' }]);
  const b = raw as Record<string, unknown>;
  const problems: Problem[] = [];
  const contact: Partial<Contact> = {};
  for (const k of Object.keys(b)) if (!CONTACT_FIELDS.includes(k)) problems.push({ path: k, reason: `is not a field of a contact (${CONTACT_FIELDS.join(', ')})` });
  if (b.team !== undefined) {
    const ids = teamsConfig().teams.map((t) => t.id);
    if (typeof b.team !== 'string' || !ids.includes(b.team)) problems.push({ path: 'team', reason: `must be a team of ${TEAMS_FILE} (${ids.join(', ') || 'it has none'})` });
    else contact.team = b.team;
  }
  if (b.at !== undefined) {
    const at = typeof b.at === 'string' && ISO_INSTANT.test(b.at) ? Date.parse(b.at) : NaN;
    if (!Number.isFinite(at)) problems.push({ path: 'at', reason: 'must be an ISO 8601 date and time with a zone, like "2026-03-06T16:00:00Z"' });
    else if (at > Date.now() + CONTACT_SKEW_MS) problems.push({ path: 'at', reason: `is in the future (${b.at}); a contact is recorded once it happened` });
    else contact.at = at;
  }
  for (const k of ['by', 'note'] as const) {
    const v = b[k];
    if (v === undefined) continue;
    const max = k === 'by' ? 200 : 2_000;
    if (typeof v !== 'string' || !v.trim() || v.length > max) problems.push({ path: k, reason: `must be text of 1 to ${max} characters` });
    else contact[k] = v;
  }
  if (problems.length) invalid(problems);
  return contact;
}
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/** A CRM's clock may run a little ahead of ours. */
const CONTACT_SKEW_MS = 5 * 60_000;

export function checkId(id: string): void {
  if (!id || id.length > MAX_ID_LENGTH) fail(400, 'invalid_id', `a lead id is 1 to ${MAX_ID_LENGTH} characters (a userId, an email or an anonymousId)`);
}


/** The lead a secret-key route is about: the caller must hold a secret key, and the id must be one. */
function leadIdFor(c: Context<{ Bindings: Env }>, what: string): string {
  requireSecret(authenticate(c), what);
  const id = c.req.param('id') ?? '';
  checkId(id);
  return id;
}

const notFound = (id: string): never => fail(404, 'lead_not_found', `no lead is known by "${id}" (userId, email or anonymousId)`);

const encodeCursor = (c: { ts: number; id: string }) => toCursor([c.ts, c.id]);
function decodeCursor(s: string): { ts: number; id: string } {
  try {
    const [ts, id] = fromCursor(s) as [unknown, unknown];
    if (typeof ts === 'number' && typeof id === 'string') return { ts, id };
  } catch {
    // fall through
  }
  fail(400, 'invalid_cursor', 'cursor is not one this API returned; pass nextCursor from the previous page as is');
}

const QUEUE_PARAMS = ['level', 'stage', 'fit', 'team', 'q', 'contactable', 'order', 'limit', 'cursor'];
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * The work queue's parameters (`GET /v1/leads`, the dashboard's queue): every bad one named (400), else the
 * query for worker/lead-index.ts.
 */
export function queueQueryOf(queries: Record<string, string[]>): QueueQuery {
  const { problems, one } = listParams(queries, QUEUE_PARAMS, 'is given more than once; use one comma-separated value');
  const listOf = (name: string) => one(name)?.split(',').map((v) => v.trim()).filter(Boolean);
  const t = activeModel().types[0];
  const levels = listOf('level');
  for (const l of levels ?? []) if (!t.tierIds.includes(l)) problems.push({ path: 'level', reason: `"${l.slice(0, 40)}" is not a level of the model (${t.tierIds.join(', ')})` });
  const stages = listOf('stage');
  const stageIds = t.stages.map((s) => s.id);
  for (const s of stages ?? []) if (!stageIds.includes(s)) problems.push({ path: 'stage', reason: `"${s.slice(0, 40)}" is not a stage of the model (${stageIds.join(', ') || 'it has none'})` });
  const fits = listOf('fit')?.map((f) => f.toUpperCase());
  if (fits && !activeModel().fit) problems.push({ path: 'fit', reason: 'needs a fit section in the model, which this deployment does not have' });
  else for (const f of fits ?? []) if (!(FIT_GRADES as readonly string[]).includes(f)) problems.push({ path: 'fit', reason: `"${f.slice(0, 40)}" is not a fit grade (${FIT_GRADES.join(', ')})` });
  const teams = listOf('team');
  const teamIds = teamsConfig().teams.map((x) => x.id);
  for (const id of teams ?? []) if (!teamIds.includes(id)) problems.push({ path: 'team', reason: `"${id.slice(0, 40)}" is not a team of ${TEAMS_FILE} (${teamIds.join(', ') || 'it has none'})` });
  const order = (one('order') ?? 'priority') as QueueOrder;
  if (!(order in QUEUE_ORDERS)) problems.push({ path: 'order', reason: `must be one of ${Object.keys(QUEUE_ORDERS).join(', ')}` });
  const limitRaw = one('limit') ?? '50';
  const limit = Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) problems.push({ path: 'limit', reason: `must be a whole number from 1 to 200 (got "${limitRaw.slice(0, 20)}")` });
  const q = one('q');
  if (q !== undefined && (q.length < 1 || q.length > MAX_ID_LENGTH)) problems.push({ path: 'q', reason: `is the start of an id or email, 1 to ${MAX_ID_LENGTH} characters` });
  const contactable = one('contactable');
  if (contactable !== undefined && contactable !== 'true' && contactable !== 'false') problems.push({ path: 'contactable', reason: 'is true or false' });
  let after: (string | number)[] | undefined;
  const cursor = one('cursor');
  if (cursor !== undefined) {
    try {
      const parsed = fromCursor(cursor);
      if (Array.isArray(parsed) && parsed[0] === order && parsed.length === QUEUE_ORDERS[order].length + 2 && parsed.slice(1).every((v) => typeof v === 'string' || typeof v === 'number')) after = parsed.slice(1);
    } catch {
      // refused below
    }
    if (!after) problems.push({ path: 'cursor', reason: 'is not one this list returned for this order; pass nextCursor from the previous page as is' });
  }
  if (problems.length) invalid(problems);
  return { levels, stages, fits, teams, q, contactable: contactable === 'true', order, limit, after };
}

/** One page of the work queue as the API shows it, and its next cursor. */
export async function queuePage(db: D1Database, query: QueueQuery) {
  const page = await queryQueue(db, query);
  const names = new Map(activeModel().types[0].tierIds.map((id, i) => [id, activeModel().types[0].tierNames[i]]));
  return {
    leads: page.rows.map((r) => ({
      id: r.id,
      email: r.email,
      userId: r.userId,
      level: r.level,
      levelName: names.get(r.level) ?? r.level,
      levelSince: iso(r.levelSince),
      engagementScore: r.engagementScore,
      leadScore: r.leadScore,
      momentum: r.momentum,
      stage: r.stage,
      fit: r.fitGrade === null ? null : { grade: r.fitGrade, score: r.fitScore },
      doNotContact: r.doNotContact,
      team: r.teams[0] ?? null,
      teams: r.teams,
      sla: r.slaState === null || r.slaDueAt === null ? null : { team: r.slaTeam, state: r.slaState, dueAt: iso(r.slaDueAt) },
      lastActivityAt: iso(r.lastActivityAt),
      modelVersion: r.modelVersion,
      updatedAt: iso(r.updatedAt),
    })),
    nextCursor: page.after ? toCursor([query.order, ...page.after]) : null,
  };
}

/**
 * `GET /v1/leads`: the work queue, a query on the D1 lead index (never a walk over lead objects). Filters by
 * level, stage, fit grade, team (the teams the routes send the lead to now), id or email prefix and
 * contactability; ordered by priority (level, momentum, recency), recency, score or SLA (open ones, earliest due
 * first); paged by an opaque cursor.
 */
async function queue(c: Context<{ Bindings: Env }>) {
  requireSecret(authenticate(c), 'listing leads');
  return c.json(await queuePage(c.env.INDEX, queueQueryOf(c.req.queries())));
}

/** A lead's read (`GET /v1/leads/{id}`) and the key of the object holding it; null when no lead has the id. */
export async function readLead(env: Env, id: string, waitUntil: (p: Promise<unknown>) => void) {
  for (const key of candidateKeys(id)) {
    const stub = leadStub(env, key);
    const view = await stub.view();
    if (!view) continue;
    // The conversion model fitted on the index (worker/learning.ts), applied to this lead's learning record.
    // The fit of the published version (a read never fails for it: without D1 the bundled file's stands in).
    const model = await publishedModel(env).catch(() => activeModel());
    const probability = await probabilityFor(env.INDEX, model, stub.learning(), waitUntil);
    return { key, lead: { ...view, treatment: treatmentFor(view.level), ...probability } };
  }
  return null;
}

/** Records a contact (`POST /v1/leads/{id}/contacted`, the dashboard's button); null when no lead has the id. */
export async function recordContact(env: Env, id: string, contact: Partial<Contact>) {
  for (const key of candidateKeys(id)) {
    const done = await leadStub(env, key).contacted(contact);
    if (done) return { contacted: true as const, at: new Date(contact.at ?? Date.now()).toISOString(), ...done };
  }
  return null;
}

export const leadRoutes = new Hono<{ Bindings: Env }>()
  .get('/', queue)
  .get('/:id', async (c) => {
    const id = leadIdFor(c, 'reading a lead');
    const read = await readLead(c.env, id, (p) => c.executionCtx.waitUntil(p));
    return read ? c.json(read.lead) : notFound(id);
  })
  .delete('/:id', async (c) => {
    const id = leadIdFor(c, 'erasing a lead');
    const days = Number(c.env.ERASURE_QUARANTINE_DAYS ?? 30);
    const quarantineMs = (Number.isFinite(days) && days >= 0 ? days : 30) * DAY_MS;
    for (const key of candidateKeys(id)) {
      const receipt = await leadStub(c.env, key).erase(quarantineMs);
      if (receipt) {
        return c.json({
          erased: true,
          id: receipt.id,
          ids: receipt.keys.map(idOfKey),
          events: receipt.events,
          erasedAt: new Date(receipt.erasedAt).toISOString(),
          quarantineUntil: new Date(receipt.quarantineUntil).toISOString(),
        });
      }
    }
    notFound(id);
  })
  .post('/:id/contacted', async (c) => {
    const id = leadIdFor(c, 'recording a contact');
    const done = await recordContact(c.env, id, await contactOf(c.req.raw));
    return done ? c.json(done) : notFound(id);
  })
  .get('/:id/export', async (c) => {
    const id = leadIdFor(c, 'exporting a lead');
    for (const key of candidateKeys(id)) {
      const stub = leadStub(c.env, key);
      const view = await stub.view();
      if (!view) continue;
      // Everything kept about the lead: its read (scores, reasons, history), every event with its points and
      // reasons, the ids merged into it and the news still queued about it.
      const events: unknown[] = [];
      const ledger: unknown[] = [];
      let cursor: EventCursor | null = null;
      do {
        const page: EventsPage | null = await stub.events(500, cursor);
        if (!page) break;
        events.push(...page.events);
        ledger.push(...(page.ledger ?? []));
        cursor = page.next;
      } while (cursor);
      const extras = await stub.exportExtras();
      return c.json({ exportedAt: new Date().toISOString(), lead: view, events, ledger, ...extras });
    }
    notFound(id);
  })
  .get('/:id/events', async (c) => {
    const id = leadIdFor(c, 'reading a lead’s events');
    const limitRaw = c.req.query('limit') ?? '50';
    const limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) fail(400, 'invalid_limit', `limit must be a whole number from 1 to 500 (got "${limitRaw}")`);
    const cursorRaw = c.req.query('cursor');
    const cursor = cursorRaw ? decodeCursor(cursorRaw) : null;
    for (const key of candidateKeys(id)) {
      const page = await leadStub(c.env, key).events(limit, cursor);
      if (page) return c.json({ events: page.events, nextCursor: page.next ? encodeCursor(page.next) : null, ...(page.ledger && { ledger: page.ledger }) });
    }
    notFound(id);
  });

/**
 * `GET /v1/level?anonymousId=…`: the visitor's own level and the content for it, for the browser (a site key is
 * enough). In demo mode (never in production) `explain=1` adds the scores, reasons and ledger, for the demo badge.
 */
export const levelRoutes = new Hono<{ Bindings: Env }>().get('/', async (c) => {
  const caller = authenticate(c);
  const anonymousId = c.req.query('anonymousId') ?? '';
  checkId(anonymousId);
  const stub = leadStub(c.env, anonKey(anonymousId));
  const lead = await stub.level();
  const t = activeModel().types[0];
  const level = lead?.level ?? t.tierIds[0];
  // `show`: the level whose content the visitor gets (their own, or the lowest when held out: worker/experience.ts).
  // A browser is not told its group: to a site key a held-out visitor's level is the one it is shown.
  const experience = await experienceOf(c.env, lead ? anonymousId : undefined, level);
  const told = experience.holdout && caller.kind === 'public' ? experience.show : level;
  const body: Record<string, unknown> = {
    known: !!lead,
    level: told,
    levelName: told === level ? lead?.levelName ?? t.tierNames[0] : t.tierNames[t.tierIds.indexOf(told)],
    show: experience.show,
    content: contentFor(experience.show),
  };
  if (experience.holdout && caller.kind === 'secret') body.holdout = true;
  if (c.req.query('explain') === '1' && c.env.DEMO_MODE === 'true' && c.env.ENVIRONMENT === 'development' && lead) {
    const view = await stub.view();
    if (view) Object.assign(body, { engagementScore: view.engagementScore, leadScore: view.leadScore, reasons: view.reasons, ledger: view.ledger, treatment: treatmentFor(level) });
  }
  return c.json(body);
});

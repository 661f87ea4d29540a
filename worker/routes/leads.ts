/** Reads. Secret keys read any lead; a site key reads only its own visitor's level, by anonymousId. */
import { Hono } from 'hono';
import { authenticate, requireSecret } from '../auth.js';
import type { Env } from '../env.js';
import { leadStub } from '../lead/index.js';
import { fail } from '../errors.js';
import { anonKey, candidateKeys } from '../identity.js';
import { activeModel } from '../model.js';
import { contentFor, treatmentFor } from '../site.js';
import { MAX_ID_LENGTH } from '../../shared/limits.js';

function checkId(id: string): void {
  if (!id || id.length > MAX_ID_LENGTH) fail(400, 'invalid_id', `a lead id is 1 to ${MAX_ID_LENGTH} characters (a userId, an email or an anonymousId)`);
}

const encodeCursor = (c: { ts: number; id: string }) => btoa(JSON.stringify([c.ts, c.id])).replace(/=+$/, '');
function decodeCursor(s: string): { ts: number; id: string } {
  try {
    const [ts, id] = JSON.parse(atob(s)) as [unknown, unknown];
    if (typeof ts === 'number' && typeof id === 'string') return { ts, id };
  } catch {
    // fall through
  }
  fail(400, 'invalid_cursor', 'cursor is not one this API returned; pass nextCursor from the previous page as is');
}

export const leadRoutes = new Hono<{ Bindings: Env }>()
  .get('/:id', async (c) => {
    const caller = authenticate(c);
    requireSecret(caller, 'reading a lead');
    const id = c.req.param('id');
    checkId(id);
    for (const key of candidateKeys(id)) {
      const view = await leadStub(c.env, key).view();
      if (view) return c.json({ ...view, treatment: treatmentFor(view.level) });
    }
    fail(404, 'lead_not_found', `no lead is known by "${id}" (userId, email or anonymousId)`);
  })
  .get('/:id/events', async (c) => {
    const caller = authenticate(c);
    requireSecret(caller, 'reading a lead’s events');
    const id = c.req.param('id');
    checkId(id);
    const limitRaw = c.req.query('limit') ?? '50';
    const limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) fail(400, 'invalid_limit', `limit must be a whole number from 1 to 500 (got "${limitRaw}")`);
    const cursorRaw = c.req.query('cursor');
    const cursor = cursorRaw ? decodeCursor(cursorRaw) : null;
    for (const key of candidateKeys(id)) {
      const page = await leadStub(c.env, key).events(limit, cursor);
      if (page) return c.json({ events: page.events, nextCursor: page.next ? encodeCursor(page.next) : null });
    }
    fail(404, 'lead_not_found', `no lead is known by "${id}" (userId, email or anonymousId)`);
  });

/**
 * `GET /v1/level?anonymousId=…`: the visitor's own level and the content for it, for the browser (a site key is
 * enough). In demo mode (never in production) `explain=1` adds the scores and reasons, for the demo badge.
 */
export const levelRoutes = new Hono<{ Bindings: Env }>().get('/', async (c) => {
  authenticate(c);
  const anonymousId = c.req.query('anonymousId') ?? '';
  checkId(anonymousId);
  const stub = leadStub(c.env, anonKey(anonymousId));
  const lead = await stub.level();
  const t = activeModel().types[0];
  const level = lead?.level ?? t.tierIds[0];
  const body: Record<string, unknown> = { known: !!lead, level, levelName: lead?.levelName ?? t.tierNames[0], content: contentFor(level) };
  if (c.req.query('explain') === '1' && c.env.DEMO_MODE === 'true' && c.env.ENVIRONMENT === 'development' && lead) {
    const view = await stub.view();
    if (view) Object.assign(body, { engagementScore: view.engagementScore, leadScore: view.leadScore, reasons: view.reasons, treatment: treatmentFor(level) });
  }
  return c.json(body);
});

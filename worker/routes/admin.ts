/**
 * Operations on the whole deployment (secret key). `POST /v1/admin/reindex` starts rebuilding the lead index
 * from the lead objects (worker/reindex.ts) and answers 202 with the run's id; `GET /v1/admin/reindex/{id}`
 * answers its status and progress. `npm run reindex` drives both (scripts/reindex.js).
 */
import { Hono } from 'hono';
import { authenticate, requireSecret } from '../auth.js';
import { readOptionalJson } from '../body.js';
import type { Env } from '../env.js';
import { fail } from '../errors.js';
import { reindexProgress, type ReindexParams } from '../reindex.js';

const RUN_ID = /^[A-Za-z0-9_-]{1,100}$/;

async function params(req: Request): Promise<ReindexParams> {
  const body = await readOptionalJson(req, 4096, 'the limit is 4 KB');
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail(400, 'invalid_body', 'the body is a JSON object: {}, or {"pageSize": 200, "fromIndex": true}');
  const unknown = Object.keys(body).filter((k) => k !== 'pageSize' && k !== 'fromIndex');
  if (unknown.length) fail(400, 'invalid_body', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k.slice(0, 40)}"`).join(', ')}; the fields are "pageSize" and "fromIndex"`);
  const { pageSize, fromIndex } = body as { pageSize?: unknown; fromIndex?: unknown };
  const out: ReindexParams = {};
  if (pageSize !== undefined) {
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1_000) fail(400, 'invalid_page_size', 'pageSize is a whole number of keys per step, 1 to 1000');
    out.pageSize = pageSize;
  }
  if (fromIndex !== undefined) {
    if (typeof fromIndex !== 'boolean') fail(400, 'invalid_from_index', 'fromIndex is true or false');
    out.fromIndex = fromIndex;
  }
  return out;
}

export const adminRoutes = new Hono<{ Bindings: Env }>()
  .use('*', async (c, next) => {
    requireSecret(authenticate(c), 'administration');
    await next();
  })
  .post('/reindex', async (c) => {
    const instance = await c.env.REINDEX.create({ params: await params(c.req.raw) });
    return c.json({ id: instance.id, status: `/v1/admin/reindex/${instance.id}` }, 202);
  })
  .get('/reindex/:id', async (c) => {
    const id = c.req.param('id');
    if (!RUN_ID.test(id)) fail(400, 'invalid_id', 'a reindex run id is 1 to 100 letters, digits, "-" or "_"');
    // A run just created may not be found for a moment (its engine starts after the 202): the script retries.
    let s: InstanceStatus;
    try {
      s = await (await c.env.REINDEX.get(id)).status();
    } catch {
      fail(404, 'reindex_not_found', `no reindex run "${id}" (a run started a moment ago may take a second to appear)`);
    }
    return c.json({
      id,
      status: s.status,
      ...(s.error ? { error: { name: s.error.name, message: s.error.message } } : {}),
      progress: await reindexProgress(c.env.INDEX, id),
      ...(s.output !== undefined ? { output: s.output } : {}),
    });
  });

/**
 * Model versions (secret key; README, "Model versions"): list and read them, store a draft (checked with the
 * same problem lists as the model file), preview its impact on every lead, publish it (every lead rescored in
 * the background) and roll back (publish an earlier version again). Previews and rescoring run on the
 * `leadlevel-models` Workflow (worker/model-run.ts); their progress is what its steps recorded in D1.
 */
import { Hono, type Context } from 'hono';
import { authenticate, requireSecret } from '../auth.js';
import { readOptionalJson } from '../body.js';
import type { Env } from '../env.js';
import { fail } from '../errors.js';
import { activeModel } from '../model.js';
import { runPageSize, runView, type ModelRunParams, type RunView } from '../model-run.js';
import { AlreadyPublished, createRun, draftProblems, getVersion, listVersions, publish, publishedRef, runIdOf, runStarted, storeDraft } from '../models.js';

type C = Context<{ Bindings: Env }>;

/** A draft's body: the model file itself, under `model`, with an optional note and author. */
export const DRAFT_LIMIT = 65_536;
const RUN_ID = /^[A-Za-z0-9_-]{1,100}$/;

const versionParam = (c: C): number => checkVersion(c.req.param('version') ?? '');

/** A version number from a path: 400 unless a whole number ≥ 1. */
export function checkVersion(v: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(v)) fail(400, 'invalid_version', `a model version is a whole number ≥ 1 (got "${v.slice(0, 20)}")`);
  return Number(v);
}

/** A stored version with its body and publications; 404 when there is none. */
export async function versionOr404(env: Env, version: number) {
  const v = await getVersion(env, version);
  if (!v) fail(404, 'model_not_found', `no model version ${version}; GET /v1/models lists them`);
  return v;
}

const text = (v: unknown, name: string, max: number): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max) fail(400, `invalid_${name}`, `${name} is text of at most ${max} characters`);
  return v;
};

/** `by`: who asked, as the caller says (the key is never recorded). */
async function options(c: C): Promise<{ by: string; pageSize?: number }> {
  const body = await readOptionalJson(c.req.raw, 4096, 'the limit is 4 KB');
  if (body === undefined) return { by: 'api' };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail(400, 'invalid_body', 'the body is a JSON object: {}, or {"by": "ada@example.com", "pageSize": 200}');
  const unknown = Object.keys(body).filter((k) => k !== 'by' && k !== 'pageSize');
  if (unknown.length) fail(400, 'invalid_body', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k.slice(0, 40)}"`).join(', ')}; the fields are "by" and "pageSize"`);
  const { by, pageSize } = body as { by?: unknown; pageSize?: unknown };
  if (pageSize !== undefined && runPageSize(pageSize) !== pageSize) fail(400, 'invalid_page_size', 'pageSize is a whole number of leads per step, 1 to 1000');
  return { by: text(by, 'by', 200) ?? 'api', ...(pageSize !== undefined ? { pageSize: pageSize as number } : {}) };
}

/** Starts a run under its id; an instance already created under it (a retried request) counts as started. */
async function startRun(env: Env, params: ModelRunParams, id: string) {
  const err = await createRun(env, id, params);
  if (!err) return;
  const retry = params.kind === 'publish' ? ` (the publication is recorded: POST /v1/models/${params.version}/publish again starts its run)` : '';
  fail(503, 'run_not_started', `the ${params.kind} run could not be started (${(err as Error)?.message ?? String(err)}); try again${retry}`);
}

type RunRow = { id: string; kind: 'preview' | 'publish'; version: number; seq: number | null; created_at: number };

/** A version's latest run of a kind (or the one named), as its steps recorded it; null when it has none. */
export async function findRun(env: Env, version: number, kind: 'preview' | 'publish', id?: string): Promise<RunView | null> {
  const row = id
    ? await env.INDEX.prepare('SELECT * FROM model_runs WHERE id = ?1 AND version = ?2 AND kind = ?3').bind(id, version, kind).first<RunRow>()
    : await env.INDEX.prepare('SELECT * FROM model_runs WHERE version = ?1 AND kind = ?2 ORDER BY created_at DESC, rowid DESC LIMIT 1').bind(version, kind).first<RunRow>();
  if (!row) return null;
  // A run just created may not be found by its engine for a moment: its recorded progress still answers.
  let status: InstanceStatus | null = null;
  try {
    status = await (await env.MODEL_RUNS.get(row.id)).status();
  } catch {
    status = null;
  }
  return runView(env.INDEX, row, status, activeModel().types[0].tierIds);
}

async function showRun(c: C, kind: 'preview' | 'publish') {
  const version = versionParam(c);
  const id = c.req.param('run');
  if (id !== undefined && !RUN_ID.test(id)) fail(400, 'invalid_id', 'a run id is 1 to 100 letters, digits, "-" or "_"');
  const run = await findRun(c.env, version, kind, id);
  if (!run) fail(404, `${kind}_not_found`, id ? `no ${kind} run "${id}" of model version ${version}` : `model version ${version} has no ${kind} run; POST /v1/models/${version}/${kind} starts one`);
  return c.json(run);
}

/** Starts an impact preview of a stored version (POST /v1/models/{version}/preview, the dashboard's Preview). */
export async function startPreview(env: Env, version: number, pageSize?: number) {
  const v = await versionOr404(env, version);
  const run = crypto.randomUUID();
  await env.INDEX.prepare("INSERT INTO model_runs (id, kind, version, seq, created_at) VALUES (?1, 'preview', ?2, NULL, ?3)").bind(run, v.version, Date.now()).run();
  await startRun(env, { kind: 'preview', version: v.version, ...(pageSize ? { pageSize } : {}) }, run);
  return { version: v.version, run, status: `/v1/models/${v.version}/preview/${run}` };
}

/**
 * Publishes a stored version, or an earlier one again (`rollback`: it must have been published before), and
 * starts its rescoring run; a published version whose run never started gets it started (`restarted`).
 */
export async function startPublish(env: Env, version: number, rollback: boolean, by: string, pageSize?: number) {
  const v = await versionOr404(env, version);
  if (v.status === 'published') {
    // Published, but its run never started (the Workflow could not be reached): asking again starts it.
    const p = v.publications[v.publications.length - 1];
    if (!p || (await runStarted(env, p.seq))) fail(409, 'already_published', `model version ${v.version} is the published one`);
    await startRun(env, { kind: 'publish', version: v.version, ...(pageSize ? { pageSize } : {}) }, runIdOf(p.seq));
    return { version: v.version, publication: p, run: runIdOf(p.seq), status: `/v1/models/${v.version}/publish/${runIdOf(p.seq)}`, restarted: true };
  }
  if (rollback && v.status !== 'retired') fail(409, 'never_published', `model version ${v.version} was never published: a rollback goes back to an earlier published version (POST /v1/models/${v.version}/publish publishes a draft)`);
  // Checked again as a draft is checked: since it was stored, a deploy may have changed the site or teams file
  // (or the levels) that it must fit.
  const problems = draftProblems(v.model);
  if (problems.length) {
    fail(409, 'model_no_longer_valid', `model version ${v.version} no longer fits this deployment's files: ${problems.slice(0, 3).map((p) => `${p.path}: ${p.reason}`).join('; ')}`, { problems });
  }
  const publication = await publish(env.INDEX, v.version, by).catch((err: unknown) => {
    // Another request published it between the check above and this one's transaction.
    if (err instanceof AlreadyPublished) fail(409, 'already_published', err.message);
    throw err;
  });
  await startRun(env, { kind: 'publish', version: v.version, ...(pageSize ? { pageSize } : {}) }, publication.run!);
  return { version: v.version, publication, run: publication.run, status: `/v1/models/${v.version}/publish/${publication.run}` };
}

async function publishRoute(c: C, rollback: boolean) {
  const version = versionParam(c);
  await versionOr404(c.env, version);
  const { by, pageSize } = await options(c);
  return c.json(await startPublish(c.env, version, rollback, by, pageSize), 202);
}

export const modelRoutes = new Hono<{ Bindings: Env }>()
  .use('*', async (c, next) => {
    requireSecret(authenticate(c), 'model versions');
    await next();
  })
  .get('/', async (c) => {
    const versions = await listVersions(c.env);
    return c.json({ published: await publishedRef(c.env), versions });
  })
  .post('/', async (c) => {
    const body = await readOptionalJson(c.req.raw, DRAFT_LIMIT, 'the limit is 64 KB');
    if (typeof body !== 'object' || body === null || Array.isArray(body) || !('model' in body)) {
      fail(400, 'invalid_body', 'the body is a JSON object: {"model": {…the model file…}, "note": "why", "by": "who"}');
    }
    const unknown = Object.keys(body).filter((k) => k !== 'model' && k !== 'note' && k !== 'by');
    if (unknown.length) fail(400, 'invalid_body', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k.slice(0, 40)}"`).join(', ')}; the fields are "model", "note" and "by"`);
    const { model, note, by } = body as { model: unknown; note?: unknown; by?: unknown };
    const n = text(note, 'note', 1000);
    const who = text(by, 'by', 200) ?? 'api';
    const problems = draftProblems(model);
    if (problems.length) fail(400, 'invalid_model', `the draft has ${problems.length} problem${problems.length > 1 ? 's' : ''}: ${problems.slice(0, 5).map((p) => `${p.path}: ${p.reason}`).join('; ')}`, { problems: problems.slice(0, 50) });
    const stored = await storeDraft(c.env, model, who, n);
    return c.json(stored, 201);
  })
  .get('/:version', async (c) => c.json(await versionOr404(c.env, versionParam(c))))
  .post('/:version/preview', async (c) => {
    const version = versionParam(c);
    await versionOr404(c.env, version);
    const { pageSize } = await options(c);
    return c.json(await startPreview(c.env, version, pageSize), 202);
  })
  .get('/:version/preview', (c) => showRun(c, 'preview'))
  .get('/:version/preview/:run', (c) => showRun(c, 'preview'))
  .post('/:version/publish', (c) => publishRoute(c, false))
  .post('/:version/rollback', (c) => publishRoute(c, true))
  .get('/:version/publish', (c) => showRun(c, 'publish'))
  .get('/:version/publish/:run', (c) => showRun(c, 'publish'));

/**
 * Model versions, stored by the deployment in the D1 index (migrations/0009_models.sql). The bundled
 * leadlevel.model.json is a version too: the first Worker to run a file with a fingerprint it has not stored
 * stores it and publishes it (the first file is version 1). Drafts come from `POST /v1/models`; publishing one
 * (or an earlier version again: a rollback) records a publication, whose `seq` orders them.
 *
 * The ingest path pays no D1 round trip for this, and no lead waits on D1 inside its lock: a lead keeps the
 * version it is scored under in its own storage (the body too, when it is not the bundled file), reads the
 * published version from its isolate's cache (`publishedNow`, refreshed in the background at most every
 * PUBLISHED_TTL_MS), and moves to a newer one in its alarm or when the publish run reaches it, with the body
 * fetched before it takes its lock. Compiled models are cached per isolate by version (a body never changes).
 */
import configuredModel from '../leadlevel.model.json';
import configuredSite from '../leadlevel.site.json';
import type { ModelRef } from '../shared/api.js';
import { compileModel, type CompiledModel } from '../shared/compile.js';
import { checkConfig, SITE_FILE, type ConfigProblem } from './config.js';
import type { Env } from './env.js';
import type { ModelRunParams } from './model-run.js';
import { activeModel, resolveModel } from './model.js';
import { configuredTeams, TEAMS_FILE } from './notify/teams.js';

export type ModelStatus = 'draft' | 'published' | 'retired';

export interface ModelVersion {
  version: number;
  /** The model's `id` (b2b-default, …). */
  modelId: string;
  fingerprint: string;
  status: ModelStatus;
  /** `file`: leadlevel.model.json as deployed; `api`: a draft sent to POST /v1/models. */
  source: 'file' | 'api';
  note: string | null;
  createdAt: string;
  createdBy: string;
  /** When it was last published (null: never). */
  publishedAt: string | null;
}

export interface ModelPublication {
  seq: number;
  version: number;
  at: string;
  by: string;
  run: string | null;
}

/** How long an isolate trusts the published version it read: a publication reaches every batch within this. */
export const PUBLISHED_TTL_MS = 5_000;

type Row = { version: number; model_id: string; fingerprint: string; body: string; status: ModelStatus; source: 'file' | 'api'; note: string | null; created_at: number; created_by: string; published_at: number | null };

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
export const versionOf = (r: Row): ModelVersion => ({
  version: r.version,
  modelId: r.model_id,
  fingerprint: r.fingerprint,
  status: r.status,
  source: r.source,
  note: r.note,
  createdAt: iso(r.created_at)!,
  createdBy: r.created_by,
  publishedAt: iso(r.published_at),
});

/** A stored body compiled under its version number: the number every lead read and index row names. */
export function compileVersion(version: number, body: unknown): CompiledModel {
  return { ...compileModel(resolveModel(body)), version };
}

const compiled = new Map<number, CompiledModel>();

/** The compiled model of a stored version; throws when no such version exists. */
export async function storedModel(db: D1Database, version: number): Promise<CompiledModel> {
  const hit = compiled.get(version);
  if (hit) return hit;
  const row = await db.prepare('SELECT body FROM models WHERE version = ?1').bind(version).first<{ body: string }>();
  if (!row) throw new Error(`model version ${version} is not stored`);
  return compiledFrom(version, JSON.parse(row.body));
}

/** A version this isolate compiled already, or undefined: for callers that must not wait. */
export const compiledNow = (version: number): CompiledModel | undefined => compiled.get(version);

/** Compiles (once per isolate) a version's body, as D1 or a lead's own storage keeps it. */
export function compiledFrom(version: number, body: unknown): CompiledModel {
  let model = compiled.get(version);
  if (!model) compiled.set(version, (model = compileVersion(version, body)));
  return model;
}

/** What a version's row keeps as its body: the model resolved (its `extends` applied), so it never changes under it. */
export const storedBody = (body: unknown): string => JSON.stringify(resolveModel(body));

let published: { ref: ModelRef; until: number } | null = null;
let seeded = false;
/** The seeding under way: concurrent first calls of an isolate wait for one, rather than racing to store the file. */
let seeding: Promise<void> | null = null;
let refreshing: Promise<ModelRef | null> | null = null;

/** The published version, compiled: what the conversion evidence analyses and lead reads apply. */
export async function publishedModel(env: Env): Promise<CompiledModel> {
  return storedModel(env.INDEX, (await publishedRef(env)).version);
}

/** Forget the published version this isolate read (after it published one itself). */
export function forgetPublished(): void {
  published = null;
}

/** The published version as this isolate last read it, if that was at most PUBLISHED_TTL_MS ago; no wait. */
export function publishedNow(now = Date.now()): ModelRef | null {
  return published && published.until > now ? published.ref : null;
}

/** Reads the published version again unless a read is under way; null when D1 cannot answer (nothing waits on it). */
export function refreshPublished(env: Env): Promise<ModelRef | null> {
  refreshing ??= publishedRef(env)
    .catch(() => null)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/**
 * The published version, as this isolate last read it (at most PUBLISHED_TTL_MS ago). The first call of an
 * isolate stores and publishes the bundled file when its fingerprint is new.
 */
export async function publishedRef(env: Env, now = Date.now()): Promise<ModelRef> {
  if (published && published.until > now) return published.ref;
  const db = env.INDEX;
  if (!seeded) {
    seeding ??= seedFile(env, now).finally(() => {
      seeding = null;
    });
    await seeding;
    seeded = true;
  }
  const row = await db.prepare('SELECT seq, version FROM model_publications ORDER BY seq DESC LIMIT 1').first<ModelRef>();
  if (!row) throw new Error('no model is published (the bundled file was not stored)');
  published = { ref: { seq: row.seq, version: row.version }, until: now + PUBLISHED_TTL_MS };
  return published.ref;
}

/** A publication's run: one Workflow instance per publication, its id derived from it, so starting it again is safe. */
export const runIdOf = (seq: number) => `publish-${seq}`;

/**
 * Creates a run's Workflow instance under `id`; one created under it before (a retry whose answer was lost)
 * counts as started. Answers the error when the engine could not be reached, else null.
 */
export async function createRun(env: Env, id: string, params: ModelRunParams): Promise<unknown> {
  try {
    await env.MODEL_RUNS.create({ id, params });
    return null;
  } catch (err) {
    return (await env.MODEL_RUNS.get(id).then(() => true, () => false)) ? null : err;
  }
}

/**
 * Starts the rescoring run of a publication (idempotent). False when the Workflow could not be reached: the
 * publication stays, and starting it again later is safe.
 */
export async function startPublication(env: Env, ref: ModelRef): Promise<boolean> {
  const err = await createRun(env, runIdOf(ref.seq), { kind: 'publish', version: ref.version });
  if (err) console.error(`model publication ${ref.seq}: its run did not start`, err);
  return !err;
}

/** Whether a publication's run exists in the Workflow engine. */
export const runStarted = (env: Env, seq: number): Promise<boolean> =>
  env.MODEL_RUNS.get(runIdOf(seq)).then(
    () => true,
    () => false,
  );

/**
 * The bundled file, stored and published once per distinct fingerprint, in one transaction (isolates race
 * here). A file that replaces an earlier version starts the rescoring of every lead, as a publication does.
 */
/**
 * Stores the bundled file as a version when its fingerprint is new. It is published when the version published
 * now came from the file too (a deploy changed the file the deployment follows); when an operator published a
 * version of their own (or rolled back to one), the new file waits as a draft beside it instead of replacing
 * their choice. `file`/`body`: the bundled model (another in tests).
 */
export async function seedFile(env: Env, now: number, file = activeModel(), body: unknown = configuredModel): Promise<void> {
  const db = env.INDEX;
  const seen = await db.prepare("SELECT 1 AS x FROM models WHERE source = 'file' AND fingerprint = ?1").bind(file.fingerprint).first();
  if (seen) return resumeRun(env);
  const absent = "NOT EXISTS (SELECT 1 FROM models WHERE source = 'file' AND fingerprint = ?1)";
  const chosen = "EXISTS (SELECT 1 FROM models WHERE status = 'published' AND source = 'api')";
  const [, inserted, publication] = await db.batch([
    db.prepare(`UPDATE models SET status = 'retired' WHERE status = 'published' AND ${absent} AND NOT ${chosen}`).bind(file.fingerprint),
    db
      .prepare(
        `INSERT INTO models (version, model_id, fingerprint, body, status, source, created_at, created_by, published_at, note)
         SELECT COALESCE(MAX(version), 0) + 1, ?2, ?1, ?3, CASE WHEN ${chosen} THEN 'draft' ELSE 'published' END, 'file', ?4, 'deploy',
           CASE WHEN ${chosen} THEN NULL ELSE ?4 END,
           CASE WHEN ${chosen} THEN 'a deploy brought this file while a version of your own is published: publish it to follow the file' END
         FROM models WHERE ${absent}`,
      )
      .bind(file.fingerprint, file.id, storedBody(body), now),
    // The version just stored is the only file version never published (unless it waits as a draft).
    db
      .prepare(
        `INSERT INTO model_publications (version, at, by)
         SELECT version, ?2, 'deploy' FROM models m WHERE source = 'file' AND fingerprint = ?1 AND status = 'published'
           AND NOT EXISTS (SELECT 1 FROM model_publications p WHERE p.version = m.version) RETURNING seq, version`,
      )
      .bind(file.fingerprint, now),
  ]);
  const p = publication.results[0] as ModelRef | undefined;
  if (!inserted.meta.changes || !p) return;
  // The deployment's first publication has no lead scored under an earlier version to move.
  const earlier = await db.prepare('SELECT 1 AS x FROM model_publications WHERE seq < ?1 LIMIT 1').bind(p.seq).first();
  if (!earlier) return;
  await db.batch(recordRun(db, p, now));
  await startPublication(env, p);
}

/** The run row of a publication, and the publication naming it. */
const recordRun = (db: D1Database, p: ModelRef, now: number) => [
  db.prepare("INSERT INTO model_runs (id, kind, version, seq, created_at) VALUES (?1, 'publish', ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING").bind(runIdOf(p.seq), p.version, p.seq, now),
  db.prepare('UPDATE model_publications SET run = ?1 WHERE seq = ?2').bind(runIdOf(p.seq), p.seq),
];

/**
 * A publication recorded but whose run never started (the Workflow could not be reached then): the first
 * isolate to start afterwards starts it. Its id is the publication's, so two isolates starting it start one.
 */
async function resumeRun(env: Env): Promise<void> {
  const last = await env.INDEX.prepare('SELECT seq, version, run FROM model_publications ORDER BY seq DESC LIMIT 1').first<ModelRef & { run: string | null }>();
  if (last?.run && !(await runStarted(env, last.seq))) await startPublication(env, last);
}

export async function listVersions(env: Env): Promise<ModelVersion[]> {
  const db = env.INDEX;
  await publishedRef(env);
  const { results } = await db.prepare('SELECT * FROM models ORDER BY version').all<Row>();
  return results.map(versionOf);
}

/** Every publication, oldest first: when each version started scoring (the lead chart's version markers). */
export async function listPublications(db: D1Database): Promise<ModelPublication[]> {
  const { results } = await db.prepare('SELECT seq, version, at, by, run FROM model_publications ORDER BY seq').all<{ seq: number; version: number; at: number; by: string; run: string | null }>();
  return results.map((p) => ({ ...p, at: iso(p.at)! }));
}

export async function getVersion(env: Env, version: number): Promise<(ModelVersion & { model: unknown; publications: ModelPublication[] }) | null> {
  const db = env.INDEX;
  await publishedRef(env);
  const row = await db.prepare('SELECT * FROM models WHERE version = ?1').bind(version).first<Row>();
  if (!row) return null;
  const { results } = await db.prepare('SELECT seq, version, at, by, run FROM model_publications WHERE version = ?1 ORDER BY seq').bind(version).all<{ seq: number; version: number; at: number; by: string; run: string | null }>();
  return { ...versionOf(row), model: JSON.parse(row.body) as unknown, publications: results.map((p) => ({ ...p, at: iso(p.at)! })) };
}

/**
 * Every problem of a draft: the model file's own (shared/compile.ts), the site and teams files checked
 * against it (worker/config.ts), and the levels and stages it must keep — the site's content, the SDK's CSS,
 * the index's ranks and the teams' routes name them, so a version changes how leads are scored, not what the
 * levels are called.
 */
export function draftProblems(body: unknown): ConfigProblem[] {
  const problems = checkConfig(body, configuredSite, configuredTeams, { model: 'model', site: SITE_FILE, teams: TEAMS_FILE });
  if (problems.length) return problems;
  const draft = compileModel(resolveModel(body));
  const now = activeModel();
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const [d, n] = [draft.types[0], now.types[0]];
  if (d.id !== n.id) problems.push({ file: 'model', path: 'scoringTypes[0].id', reason: `the primary scoring type must stay "${n.id}" (got "${d.id}")` });
  if (!same(d.tierIds, n.tierIds)) problems.push({ file: 'model', path: 'scoringTypes[0].levels', reason: `the levels must stay ${n.tierIds.join(', ')} in this order (got ${d.tierIds.join(', ')}); change their thresholds, not their ids` });
  const stages = (t: typeof d) => t.stages.map((s) => s.id);
  if (!same(stages(d), stages(n))) problems.push({ file: 'model', path: 'scoringTypes[0].stages', reason: `the stages must stay ${stages(n).join(', ') || '(none)'} (got ${stages(d).join(', ') || '(none)'})` });
  return problems;
}

/** Stores a checked draft; answers its version. */
export async function storeDraft(env: Env, body: unknown, by: string, note: string | null, now = Date.now()): Promise<ModelVersion> {
  const db = env.INDEX;
  await publishedRef(env);
  const model = compileModel(resolveModel(body));
  // Stored resolved: a later release changing the shipped model it extends does not change this version.
  const row = await db
    .prepare(
      `INSERT INTO models (version, model_id, fingerprint, body, status, source, note, created_at, created_by)
       SELECT COALESCE(MAX(version), 0) + 1, ?1, ?2, ?3, 'draft', 'api', ?4, ?5, ?6 FROM models RETURNING *`,
    )
    .bind(model.id, model.fingerprint, storedBody(body), note, now, by)
    .first<Row>();
  return versionOf(row!);
}

/**
 * Publishes a stored version (an earlier one: a rollback) in one transaction, its run recorded with it under the
 * id derived from the publication; answers the publication. The caller starts the run (`startPublication`).
 */
/** Two requests published the same version at once: the one that came second publishes nothing. */
export class AlreadyPublished extends Error {}

/**
 * Publishes a version, in one transaction: only if it is not the published one already (checked in the
 * transaction itself, so two requests racing past the route's own check make one publication, not two).
 */
export async function publish(db: D1Database, version: number, by: string, now = Date.now()): Promise<ModelPublication> {
  const last = '(SELECT MAX(seq) FROM model_publications)';
  // This request's publication, until its run is named: the statements after the insert apply only with it.
  const fresh = `EXISTS (SELECT 1 FROM model_publications WHERE seq = ${last} AND version = ?1 AND at = ?2 AND by = ?3 AND run IS NULL)`;
  const [inserted] = await db.batch([
    db
      .prepare("INSERT INTO model_publications (version, at, by) SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM models WHERE version = ?1 AND status != 'published') RETURNING seq")
      .bind(version, now, by),
    db.prepare(`UPDATE models SET status = 'retired' WHERE status = 'published' AND version != ?1 AND ${fresh}`).bind(version, now, by),
    db.prepare(`UPDATE models SET status = 'published', published_at = ?2 WHERE version = ?1 AND ${fresh}`).bind(version, now, by),
    db.prepare(`INSERT OR IGNORE INTO model_runs (id, kind, version, seq, created_at) SELECT 'publish-' || seq, 'publish', version, seq, ?2 FROM model_publications WHERE seq = ${last} AND ${fresh}`).bind(version, now, by),
    db.prepare(`UPDATE model_publications SET run = 'publish-' || seq WHERE seq = ${last} AND ${fresh}`).bind(version, now, by),
  ]);
  forgetPublished();
  const row = inserted.results[0] as { seq: number } | undefined;
  if (!row) throw new AlreadyPublished(`model version ${version} is the published one`);
  return { seq: row.seq, version, at: iso(now)!, by, run: runIdOf(row.seq) };
}

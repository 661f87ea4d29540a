/**
 * Conversion evidence on the D1 lead index: the learning records each lead writes into its index row, read in
 * key order a page at a time (never a fan-out over lead objects) and analysed by shared/learn, the code the
 * backtest runs. The fitted model a lead read applies is kept in `learning_fits`, one row per model.
 */
import type { CompiledModel } from '../shared/compile.js';
import { analyze, conversionProbability, type AnalysisOptions, type ConversionFit, type ConversionReport, type LearnRecord } from '../shared/learn/analysis.js';
import type { LearnState } from '../shared/learn/record.js';

/** Rows a page of the index read takes (D1 returns at most a few MB per query; a record is a few hundred bytes). */
const PAGE = 1_000;

/**
 * A stored fit is refitted once it is an hour old: conversions arrive a few a day, an hour of them moves no
 * coefficient that matters, and a refit reads the whole index.
 */
export const FIT_TTL_MS = 3_600_000;

export interface Period {
  /** When the lead was first seen (`first_seen_at`), from and to, both included, epoch ms. */
  from?: number;
  to?: number;
  /** Only leads scored under this model version (their records count that version's rules and triggers). */
  version?: number;
}

/**
 * Keys (and public ids) of the leads with a learning record, first seen in the period, after `afterKey`; their
 * records too unless `keysOnly`.
 */
export async function periodPage(db: D1Database, period: Period, afterKey: string, limit: number, keysOnly = false): Promise<{ key: string; id: string; learning: string }[]> {
  const { results } = await db
    .prepare(
      `SELECT key, id, ${keysOnly ? "'' AS learning" : 'learning'} FROM leads WHERE learning IS NOT NULL AND key > ?1 AND (?2 IS NULL OR first_seen_at >= ?2) AND (?3 IS NULL OR first_seen_at <= ?3)
          AND (?5 IS NULL OR model_version = ?5)
        ORDER BY key LIMIT ?4`,
    )
    .bind(afterKey, period.from ?? null, period.to ?? null, limit, period.version ?? null)
    .all<{ key: string; id: string; learning: string }>();
  return results;
}

export async function learnRecords(db: D1Database, period: Period = {}): Promise<LearnRecord[]> {
  const out: LearnRecord[] = [];
  let after = '';
  for (;;) {
    const rows = await periodPage(db, period, after, PAGE);
    for (const r of rows) out.push({ id: r.id, learn: JSON.parse(r.learning) as LearnState });
    if (rows.length < PAGE) return out;
    after = rows[rows.length - 1].key;
  }
}

export async function conversionReport(db: D1Database, model: CompiledModel, period: Period, opts: AnalysisOptions): Promise<ConversionReport> {
  // The records of leads scored under this model: during a publication the leads not yet rescored wait.
  return analyze(model, await learnRecords(db, { ...period, version: model.version }), opts);
}

export interface StoredFit {
  fittedAt: number;
  leads: number;
  conversions: number;
  /** Null below the minimum; `reason` says why. */
  fit: ConversionFit | null;
  reason: string | null;
  brier: number | null;
  calibrationError: number | null;
}

/** Stores what a lead read applies from an analysis of the whole index (default holdout and seed). */
export async function storeFit(db: D1Database, model: CompiledModel, r: ConversionReport, now: number): Promise<StoredFit> {
  const stored: StoredFit = { fittedAt: now, leads: r.leads, conversions: r.conversions, fit: r.fit, reason: r.reason, brier: r.evaluation?.brier ?? null, calibrationError: r.evaluation?.calibrationError ?? null };
  await db
    .prepare(
      `INSERT INTO learning_fits (fingerprint, fitted_at, leads, conversions, fit) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (fingerprint) DO UPDATE SET fitted_at = excluded.fitted_at, leads = excluded.leads, conversions = excluded.conversions, fit = excluded.fit
        WHERE excluded.fitted_at >= learning_fits.fitted_at`,
    )
    .bind(model.fingerprint, now, r.leads, r.conversions, JSON.stringify(stored))
    .run();
  return stored;
}

export const refreshFit = async (db: D1Database, model: CompiledModel, now: number) => storeFit(db, model, await conversionReport(db, model, {}, {}), now);

export async function storedFit(db: D1Database, model: CompiledModel): Promise<StoredFit | null> {
  const row = await db.prepare('SELECT fit FROM learning_fits WHERE fingerprint = ?1').bind(model.fingerprint).first<{ fit: string }>();
  return row ? (JSON.parse(row.fit) as StoredFit) : null;
}

/**
 * The fit a lead read applies: the stored one, refitted after the answer (`defer`) once it is older than
 * FIT_TTL_MS or when there is none yet (a read never waits for a whole-index refit). Null when none is stored.
 */
export async function currentFit(db: D1Database, model: CompiledModel, now: number, defer: (p: Promise<unknown>) => void): Promise<StoredFit | null> {
  const stored = await storedFit(db, model);
  if (!stored || now - stored.fittedAt > FIT_TTL_MS) defer(refreshFit(db, model, now).catch(() => {}));
  return stored;
}

export interface ProbabilityView {
  conversionProbability: number | null;
  /** The fit behind it (null before the first one); `reason` says why the probability is null. */
  conversionModel: { fittedAt: string | null; leads: number; conversions: number; brier: number | null; calibrationError: number | null; reason: string | null };
}

export function probabilityView(stored: StoredFit | null, learn: LearnState | null): ProbabilityView {
  if (!stored) {
    return { conversionProbability: null, conversionModel: { fittedAt: null, leads: 0, conversions: 0, brier: null, calibrationError: null, reason: 'the conversion model is being fitted on the lead index; read again in a moment' } };
  }
  const reason = stored.fit ? (learn ? null : 'this lead has no learning record yet (its own alarm rescores it)') : stored.reason;
  return {
    conversionProbability: stored.fit && learn ? conversionProbability(stored.fit, learn) : null,
    conversionModel: { fittedAt: new Date(stored.fittedAt).toISOString(), leads: stored.leads, conversions: stored.conversions, brier: stored.brier, calibrationError: stored.calibrationError, reason },
  };
}

/** For a lead read: never an error of its own (an index without the learning tables yet says so). */
export async function probabilityFor(db: D1Database, model: CompiledModel, learn: Promise<LearnState | null>, defer: (p: Promise<unknown>) => void): Promise<ProbabilityView> {
  try {
    return probabilityView(await currentFit(db, model, Date.now(), defer), await learn);
  } catch {
    return { conversionProbability: null, conversionModel: { fittedAt: null, leads: 0, conversions: 0, brier: null, calibrationError: null, reason: 'the lead index has no learning tables: apply migrations/0011_learning.sql' } };
  }
}

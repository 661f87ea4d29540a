/**
 * The conversion analysis: from each lead's learning record (record.ts) under a model, how well the levels and
 * the score predict conversion, what each action is worth, and the weights the evidence suggests. A pure
 * function of (model, records, options): the Worker runs it on the D1 index, the CLI on a replayed export, and
 * both give the same numbers for the same leads.
 */
import type { CompiledModel } from '../compile.js';
import { stableHash } from '../normalize.js';
import { ruleFeature, triggerFeature, type LearnState } from './record.js';
import { fitLogistic, predict, type LogisticFit } from './regression.js';
import { auc, brier, calibrationError, reliability, riskRatio, type ReliabilityBin } from './stats.js';

/**
 * The least evidence we answer on: 20 converted leads (Salesforce Einstein's minimum for behaviour scoring)
 * and 20 that did not, in the period. Fewer than ~10 outcomes per fitted weight is known to give unstable
 * logistic coefficients (Peduzzi et al., 1996); the penalty tames that, and below 20 of either class the
 * intervals of any lift span more than a factor of 3 — too wide to say whether a trigger earns its place.
 */
export const MIN_CONVERSIONS = 20;
export const MIN_NON_CONVERSIONS = 20;
/** Seed 000: a trigger should carry at least 3× the baseline's conversion rate. */
export const TRIGGER_LIFT = 3;
export const DEFAULT_HOLDOUT = 0.3;
export const DEFAULT_SEED = 1;
/** Score bands are this many points wide, up to one band past the top tier's minimum. */
export const BAND_WIDTH = 25;

export interface LearnRecord {
  id: string;
  learn: LearnState;
}

export interface AnalysisOptions {
  /** Share of leads kept out of the fit to judge it (0 to 0.9). */
  holdout?: number;
  seed?: number;
  /** The L2 penalty of the regression, on standardized counts. */
  lambda?: number;
}

export interface Rate {
  leads: number;
  conversions: number;
  /** conversions / leads; null with no leads. */
  rate: number | null;
}

export interface ActionEvidence {
  feature: string;
  kind: 'rule' | 'trigger';
  id: string;
  name: string;
  with: Rate;
  without: Rate;
  lift: number | null;
  interval: [number, number] | null;
  corrected: boolean;
}

export interface TriggerEvidence extends ActionEvidence {
  /** The level the trigger lifts a lead to. */
  level: string;
  /** Seed 000's rule: lift below 3× (null when the trigger never fired or nobody converted). */
  belowThreshold: boolean | null;
}

export interface SuggestedWeight {
  rule: string;
  name: string;
  current: number;
  /** Null when the rule's count never varied among the leads: no evidence either way. */
  suggested: number | null;
  /** Log-odds of converting per one more matching event. */
  coefficient: number;
}

export interface ConversionFit {
  /** What conversionProbability applies: intercept and coefficient per rule feature, on raw counts. */
  features: string[];
  intercept: number;
  coefficients: number[];
  iterations: number;
  converged: boolean;
  lambda: number;
  trainedOn: Rate;
}

export interface ConversionReport {
  model: { id: string; version: number };
  leads: number;
  conversions: number;
  baseRate: number | null;
  minimum: { conversions: number; nonConversions: number };
  enoughData: boolean;
  /** Why not, when `enoughData` is false. */
  reason: string | null;
  levels: (Rate & { level: string; name: string })[];
  scoreBands: (Rate & { from: number; to: number | null })[];
  actions: ActionEvidence[];
  triggers: TriggerEvidence[];
  holdout: { share: number; seed: number; leads: number; conversions: number };
  suggestedWeights: { scale: number; weights: SuggestedWeight[] } | null;
  fit: ConversionFit | null;
  /** On the holdout: AUC of the engagement score and of the fitted probability; Brier score and bins. */
  evaluation: {
    aucScore: number | null;
    aucProbability: number | null;
    brier: number | null;
    /** The Brier score of always predicting the training base rate: the bar to beat. */
    brierBaseline: number | null;
    calibrationError: number | null;
    bins: ReliabilityBin[];
    note: string | null;
  } | null;
}

/** Where a lead falls: [0, 1), stable for its id and the seed (the holdout split). */
export function splitPoint(id: string, seed: number): number {
  // FNV-1a barely stirs its high bits at the last characters (ids often differ only there), so MurmurHash3's
  // finalizer mixes it before it becomes a fraction.
  let h = parseInt(stableHash(`${seed}:${id}`).slice(0, 8), 16);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

const rate = (leads: number, conversions: number): Rate => ({ leads, conversions, rate: leads ? conversions / leads : null });

/** The rule features of a model's first scoring type, in rule order: the regression's columns. */
export const ruleFeatures = (model: CompiledModel) => model.types[0].rules.map((r) => ruleFeature(r.id));

export function analyze(model: CompiledModel, input: readonly LearnRecord[], opts: AnalysisOptions = {}): ConversionReport {
  const holdoutShare = opts.holdout ?? DEFAULT_HOLDOUT;
  const seed = opts.seed ?? DEFAULT_SEED;
  const t = model.types[0];
  // One order for every caller, so sums (and the regression) come out bit for bit the same.
  const records = [...input].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const converted = records.map((r) => r.learn.convertedAt !== null);
  const conversions = converted.filter(Boolean).length;
  const leads = records.length;

  const levels = t.tierIds.map((level, i) => {
    const of = records.map((r, k) => [r.learn.levelRank === i, converted[k]] as const).filter(([x]) => x);
    return { level, name: t.tierNames[i], ...rate(of.length, of.filter(([, y]) => y).length) };
  });

  const top = t.tierMins[t.tierMins.length - 1];
  const bandCount = Math.floor(top / BAND_WIDTH) + 2;
  const scoreBands = Array.from({ length: bandCount }, (_, i) => {
    const from = i * BAND_WIDTH;
    const to = i === bandCount - 1 ? null : from + BAND_WIDTH - 1;
    let n = 0;
    let c = 0;
    records.forEach((r, k) => {
      const s = r.learn.engagementScore;
      if (s >= from && (to === null || s < from + BAND_WIDTH)) {
        n++;
        if (converted[k]) c++;
      }
    });
    return { from, to, ...rate(n, c) };
  });

  const evidence = (feature: string, kind: 'rule' | 'trigger', id: string, name: string): ActionEvidence => {
    let n1 = 0;
    let a = 0;
    records.forEach((r, k) => {
      if ((r.learn.counts[feature] ?? 0) > 0) {
        n1++;
        if (converted[k]) a++;
      }
    });
    const rr = riskRatio(a, n1, conversions - a, leads - n1);
    return { feature, kind, id, name, with: rate(n1, a), without: rate(leads - n1, conversions - a), ...rr };
  };
  const actions = t.rules.map((r) => evidence(ruleFeature(r.id), 'rule', r.id, r.name));
  const triggers = t.floors.map((f): TriggerEvidence => {
    const e = evidence(triggerFeature(f.id), 'trigger', f.id, f.name);
    return { ...e, level: t.tierIds[f.level], belowThreshold: e.lift === null ? null : e.lift < TRIGGER_LIFT };
  });
  actions.push(...triggers);

  const isHoldout = records.map((r) => splitPoint(r.id, seed) < holdoutShare);
  const held = records.filter((_, k) => isHoldout[k]);
  const heldConversions = held.filter((r) => r.learn.convertedAt !== null).length;
  const base: ConversionReport = {
    model: { id: model.id, version: model.version },
    leads,
    conversions,
    baseRate: leads ? conversions / leads : null,
    minimum: { conversions: MIN_CONVERSIONS, nonConversions: MIN_NON_CONVERSIONS },
    enoughData: false,
    reason: null,
    levels,
    scoreBands,
    actions,
    triggers,
    holdout: { share: holdoutShare, seed, leads: held.length, conversions: heldConversions },
    suggestedWeights: null,
    fit: null,
    evaluation: null,
  };
  if (conversions < MIN_CONVERSIONS || leads - conversions < MIN_NON_CONVERSIONS) {
    base.reason = `not enough data: ${conversions} converted and ${leads - conversions} other leads; the analysis needs at least ${MIN_CONVERSIONS} of each (README, "Conversion evidence")`;
    return base;
  }
  base.enoughData = true;

  const features = ruleFeatures(model);
  const row = (r: LearnRecord) => features.map((f) => r.learn.counts[f] ?? 0);
  const train = holdoutShare > 0 ? records.filter((_, k) => !isHoldout[k]) : records;
  const trainY = train.map((r) => r.learn.convertedAt !== null);
  const lr: LogisticFit = fitLogistic(train.map(row), trainY, { lambda: opts.lambda ?? 1 });
  const trainConversions = trainY.filter(Boolean).length;
  base.fit = { features, intercept: lr.intercept, coefficients: lr.coefficients, iterations: lr.iterations, converged: lr.converged, lambda: lr.lambda, trainedOn: rate(train.length, trainConversions) };

  // Scaled so the strongest coefficient gets the model's largest positive rule points: the suggestion speaks
  // the model's own scale, and its ratios are the evidence's.
  const maxPoints = Math.max(1, ...t.rules.map((r) => r.points));
  const maxCoef = Math.max(...lr.coefficients.map(Math.abs));
  const scale = maxCoef > 0 ? maxPoints / maxCoef : 0;
  base.suggestedWeights = {
    scale,
    weights: t.rules.map((r, j) => ({ rule: r.id, name: r.name, current: r.points, suggested: lr.varies[j] ? Math.round(lr.coefficients[j] * scale) || 0 : null, coefficient: lr.coefficients[j] })),
  };

  if (holdoutShare <= 0 || !held.length) {
    base.evaluation = { aucScore: null, aucProbability: null, brier: null, brierBaseline: null, calibrationError: null, bins: [], note: 'no holdout: pass a holdout share above 0 to judge the fit on leads it did not see' };
    return base;
  }
  const heldY = held.map((r) => r.learn.convertedAt !== null);
  const probs = held.map((r) => predict(lr, row(r)));
  const trainRate = trainConversions / train.length;
  const bins = reliability(probs, heldY);
  base.evaluation = {
    aucScore: auc(held.map((r) => r.learn.engagementScore), heldY),
    aucProbability: auc(probs, heldY),
    brier: brier(probs, heldY),
    brierBaseline: brier(held.map(() => trainRate), heldY),
    calibrationError: calibrationError(bins),
    bins,
    note: heldConversions === 0 || heldConversions === held.length ? 'the holdout has only one outcome: AUC needs both converted and other leads' : null,
  };
  return base;
}

/** A lead's conversion probability under a stored fit, from its learning record. */
export function conversionProbability(fit: Pick<ConversionFit, 'features' | 'intercept' | 'coefficients'>, learn: LearnState): number {
  return predict(fit, fit.features.map((f) => learn.counts[f] ?? 0));
}

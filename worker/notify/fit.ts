/**
 * The lead's fit as routes see it. Fit (the model's `fit` section: traits → points → grade A–D) is shown on a
 * lead as `fit: { grade, score, reasons }`; routing reads it only through `fitOf`, so a lead without a fit (a
 * model without a fit section, a lead with no traits yet) is simply one no `fit` route matches.
 */
import type { FitGrade } from '../../shared/model.js';

export interface Fit {
  grade: FitGrade;
  score: number;
  reasons: unknown[];
}

const GRADES = new Set(['A', 'B', 'C', 'D']);

/** The fit of a lead (its read, or anything carrying `fit`), or null when it has no fit grade. */
export function fitOf(lead: unknown): Fit | null {
  const fit = (lead as { fit?: unknown } | null | undefined)?.fit as Partial<Fit> | null | undefined;
  if (!fit || typeof fit !== 'object' || typeof fit.grade !== 'string' || !GRADES.has(fit.grade)) return null;
  return { grade: fit.grade, score: typeof fit.score === 'number' ? fit.score : 0, reasons: Array.isArray(fit.reasons) ? fit.reasons : [] };
}

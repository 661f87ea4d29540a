/**
 * The statistics of the conversion analysis, small and exact enough to check by hand: the lift of an action
 * with its Katz log interval, the AUC (Mann–Whitney), the Brier score and reliability bins.
 */

/** z for a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

export interface Lift {
  /** Conversion rate with the action over the rate without it; null when a group is empty or nobody converted. */
  lift: number | null;
  /** 95 % interval of the lift (Katz's log method); null with the lift. */
  interval: [number, number] | null;
  /** A cell was 0 (or full): 0.5 was added to each, so lift and interval are the corrected ones. */
  corrected: boolean;
}

/**
 * The risk ratio (a/n1)/(c/n0) with Katz et al.'s (1978) interval on its log: se = √(1/a − 1/n1 + 1/c − 1/n0).
 * A zero cell makes the log infinite, so then 0.5 is added to every cell (Haldane–Anscombe), as epidemiology
 * texts do; the interval is then wide, which is the honest answer for so few conversions.
 */
export function riskRatio(a: number, n1: number, c: number, n0: number): Lift {
  if (n1 === 0 || n0 === 0 || (a === 0 && c === 0)) return { lift: null, interval: null, corrected: false };
  const corrected = a === 0 || c === 0 || a === n1 || c === n0;
  const [x, m, y, n] = corrected ? [a + 0.5, n1 + 1, c + 0.5, n0 + 1] : [a, n1, c, n0];
  const lift = x / m / (y / n);
  const se = Math.sqrt(1 / x - 1 / m + 1 / y - 1 / n);
  return { lift, interval: [lift * Math.exp(-Z95 * se), lift * Math.exp(Z95 * se)], corrected };
}

/**
 * Area under the ROC curve: the chance a random converted lead scores above a random other one, ties counting
 * half (the Mann–Whitney U statistic over n1·n0). Null without both classes.
 */
export function auc(scores: readonly number[], outcomes: readonly boolean[]): number | null {
  const idx = scores.map((_, i) => i).sort((i, j) => scores[i] - scores[j]);
  let pos = 0;
  let neg = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && scores[idx[j]] === scores[idx[i]]) j++;
    // Tied scores share the mean of their ranks (1-based).
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (outcomes[idx[k]]) {
        pos++;
        rankSum += rank;
      } else neg++;
    }
    i = j;
  }
  if (!pos || !neg) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean squared difference between predicted probability and outcome (0 is perfect, 0.25 is a coin). */
export function brier(predicted: readonly number[], outcomes: readonly boolean[]): number | null {
  if (!predicted.length) return null;
  let s = 0;
  for (let i = 0; i < predicted.length; i++) s += (predicted[i] - (outcomes[i] ? 1 : 0)) ** 2;
  return s / predicted.length;
}

export interface ReliabilityBin {
  from: number;
  to: number;
  leads: number;
  /** Mean predicted probability of the bin's leads, and the share of them that converted. */
  predicted: number | null;
  observed: number | null;
}

/** Equal-width bins of predicted probability: for a calibrated model `predicted` ≈ `observed` in each. */
export function reliability(predicted: readonly number[], outcomes: readonly boolean[], bins = 10): ReliabilityBin[] {
  const out = Array.from({ length: bins }, (_, i) => ({ from: i / bins, to: (i + 1) / bins, leads: 0, sumP: 0, sumY: 0 }));
  predicted.forEach((p, i) => {
    const b = out[Math.min(bins - 1, Math.floor(p * bins))];
    b.leads++;
    b.sumP += p;
    b.sumY += outcomes[i] ? 1 : 0;
  });
  return out.map((b) => ({ from: b.from, to: b.to, leads: b.leads, predicted: b.leads ? b.sumP / b.leads : null, observed: b.leads ? b.sumY / b.leads : null }));
}

/** Expected calibration error: the lead-weighted mean |predicted − observed| over the bins. */
export function calibrationError(bins: readonly ReliabilityBin[]): number | null {
  const n = bins.reduce((s, b) => s + b.leads, 0);
  if (!n) return null;
  return bins.reduce((s, b) => s + (b.leads ? (b.leads / n) * Math.abs(b.predicted! - b.observed!) : 0), 0);
}

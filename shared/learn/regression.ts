/**
 * L2-regularized logistic regression by Newton's method (iteratively reweighted least squares). Small on
 * purpose: a model has a dozen rules, so each step solves a dozen-by-dozen system exactly (Cholesky), and
 * Newton converges in a handful of steps where gradient descent would need a learning rate and thousands.
 *
 * Features are standardized before the fit (so one penalty suits counts of every scale) and the coefficients
 * are given back on the raw counts. The intercept is not penalized.
 */

export interface LogisticFit {
  intercept: number;
  /** Per feature, on the raw scale (log-odds per one more action); 0 for a feature that never varies. */
  coefficients: number[];
  /** Per feature: whether it varied in the sample (a constant one has no evidence either way). */
  varies: boolean[];
  iterations: number;
  converged: boolean;
  lambda: number;
}

export interface FitOptions {
  /** The L2 penalty on the standardized coefficients. */
  lambda?: number;
  maxIterations?: number;
  /** Converged when no standardized coefficient moves by more than this in a step. */
  tolerance?: number;
}

export const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Solves A x = b for a symmetric positive definite A (Cholesky). */
export function solveSpd(a: number[][], b: number[]): number[] {
  const n = b.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j) {
        if (!(s > 0)) throw new RangeError('the matrix is not positive definite');
        l[i][i] = Math.sqrt(s);
      } else l[i][j] = s / l[j][j];
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k];
    x[i] = s / l[i][i];
  }
  return x;
}

export function fitLogistic(x: readonly (readonly number[])[], y: readonly boolean[], opts: FitOptions = {}): LogisticFit {
  const { lambda = 1, maxIterations = 100, tolerance = 1e-9 } = opts;
  const n = x.length;
  const p = n ? x[0].length : 0;
  const mean = new Array<number>(p).fill(0);
  const sd = new Array<number>(p).fill(0);
  for (const row of x) for (let j = 0; j < p; j++) mean[j] += row[j];
  for (let j = 0; j < p; j++) mean[j] /= n;
  for (const row of x) for (let j = 0; j < p; j++) sd[j] += (row[j] - mean[j]) ** 2;
  for (let j = 0; j < p; j++) sd[j] = Math.sqrt(sd[j] / n);
  // Only features that vary take part; a constant one has no coefficient to learn (the bound absorbs the
  // rounding of a mean of equal values).
  const used = sd.map((s, j) => (s > 1e-9 * (1 + Math.abs(mean[j])) ? j : -1)).filter((j) => j >= 0);
  const z = x.map((row) => [1, ...used.map((j) => (row[j] - mean[j]) / sd[j])]);
  const k = used.length + 1;
  let beta = new Array<number>(k).fill(0);
  const positives = y.filter(Boolean).length;
  // Start at the base rate's log-odds (kept off ±∞ for a sample of one class).
  beta[0] = Math.log((positives + 0.5) / (n - positives + 0.5));
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    iterations++;
    const h = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    const g = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const zi = z[i];
      let eta = 0;
      for (let j = 0; j < k; j++) eta += beta[j] * zi[j];
      const pi = sigmoid(eta);
      const w = Math.max(pi * (1 - pi), 1e-12);
      const r = (y[i] ? 1 : 0) - pi;
      for (let a = 0; a < k; a++) {
        g[a] += zi[a] * r;
        const wa = w * zi[a];
        for (let b = 0; b <= a; b++) h[a][b] += wa * zi[b];
      }
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) h[b][a] = h[a][b];
    for (let a = 1; a < k; a++) {
      g[a] -= lambda * beta[a];
      h[a][a] += lambda;
    }
    // Without a penalty a single-class sample has a singular intercept: a tiny ridge keeps the step defined.
    h[0][0] += 1e-9;
    const step = solveSpd(h, g);
    beta = beta.map((b, j) => b + step[j]);
    if (Math.max(...step.map(Math.abs)) < tolerance) {
      converged = true;
      break;
    }
  }
  const coefficients = new Array<number>(p).fill(0);
  let intercept = beta[0];
  used.forEach((j, u) => {
    coefficients[j] = beta[u + 1] / sd[j];
    intercept -= (beta[u + 1] * mean[j]) / sd[j];
  });
  return { intercept, coefficients, varies: sd.map((_, j) => used.includes(j)), iterations, converged, lambda };
}

export function predict(fit: Pick<LogisticFit, 'intercept' | 'coefficients'>, row: readonly number[]): number {
  let eta = fit.intercept;
  for (let j = 0; j < row.length; j++) eta += fit.coefficients[j] * row[j];
  return sigmoid(eta);
}

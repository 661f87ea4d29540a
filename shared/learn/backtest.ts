/**
 * `leadlevel backtest`: the conversion analysis offline, on an export (Segment messages, one per line),
 * replayed through the engine under a model. The file is read twice, line by line (replay.ts says why);
 * scripts/leadlevel.js gives it the lines and prints what comes back.
 */
import { compileModel, type CompiledModel } from '../compile.js';
import { resolveModel } from '../../worker/model.js';
import { analyze, type AnalysisOptions, type ConversionReport } from './analysis.js';
import { Replay } from './replay.js';

export { ReplayError } from './replay.js';
export { ModelError } from '../compile.js';

/** A model file's content, compiled (throws ModelError with the problem list). */
export const modelOf = (file: unknown): CompiledModel => compileModel(resolveModel(file));

export interface BacktestInput {
  /** The file's lines, from the start; called once per pass. */
  lines: () => AsyncIterable<string>;
  /** Told every `every` lines of each pass (1 or 2). */
  progress?: (pass: 1 | 2, lines: number) => void;
  every?: number;
}

export interface BacktestResult {
  report: ConversionReport;
  lines: number;
  events: number;
}

export async function backtest(model: CompiledModel, input: BacktestInput, opts: AnalysisOptions): Promise<BacktestResult> {
  const replay = new Replay(model);
  const every = input.every ?? 250_000;
  let n = 0;
  for await (const line of input.lines()) {
    replay.link(line, ++n);
    if (n % every === 0) input.progress?.(1, n);
  }
  let m = 0;
  for await (const line of input.lines()) {
    replay.add(line, ++m);
    if (m % every === 0) input.progress?.(2, m);
  }
  if (m !== n) throw new Error(`the file changed while it was read (${n} lines, then ${m})`);
  return { report: analyze(model, replay.records(), opts), lines: n, events: replay.events };
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
const num = (x: number | null, d = 2) => (x === null ? '—' : x.toFixed(d));
const table = (rows: string[][]) => {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => '  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()).join('\n');
};

/** The report for people. */
export function formatReport(r: ConversionReport, meta: { lines: number; events: number }): string {
  const out: string[] = [];
  out.push(`leadlevel backtest — model ${r.model.id} v${r.model.version}`);
  out.push(`${meta.lines.toLocaleString('en')} lines, ${meta.events.toLocaleString('en')} events, ${r.leads.toLocaleString('en')} leads, ${r.conversions.toLocaleString('en')} converted (${pct(r.baseRate)})`);
  if (!r.enoughData) out.push(`\nWARNING: ${r.reason}. The rates below are counts, not evidence.`);
  out.push('\nConversion per level (level at conversion, or at the last event)');
  out.push(table([['level', 'leads', 'converted', 'rate'], ...r.levels.map((l) => [l.name, String(l.leads), String(l.conversions), pct(l.rate)])]));
  out.push('\nConversion per engagement-score band');
  out.push(table([['band', 'leads', 'converted', 'rate'], ...r.scoreBands.map((b) => [b.to === null ? `${b.from}+` : `${b.from}–${b.to}`, String(b.leads), String(b.conversions), pct(b.rate)])]));
  out.push('\nLift per action (rate of leads with it / rate without; 95 % interval)');
  const liftRow = (a: ConversionReport['actions'][number], flag = '') => [
    `${a.kind === 'trigger' ? 'trigger' : 'rule'} ${a.id}`,
    String(a.with.leads),
    pct(a.with.rate),
    pct(a.without.rate),
    a.lift === null ? '—' : `${num(a.lift)}×`,
    a.interval ? `${num(a.interval[0])}–${num(a.interval[1])}` : '—',
    flag,
  ];
  out.push(table([['action', 'leads with', 'rate with', 'rate without', 'lift', '95 % CI', ''], ...r.actions.filter((a) => a.kind === 'rule').map((a) => liftRow(a)), ...r.triggers.map((t) => liftRow(t, t.belowThreshold ? `below 3× (lifts to ${t.level})` : ''))]));
  const flagged = r.triggers.filter((t) => t.belowThreshold);
  if (flagged.length) out.push(`\n${flagged.length} trigger${flagged.length === 1 ? '' : 's'} below the 3× conversion lift a trigger should carry: ${flagged.map((t) => t.id).join(', ')}`);
  if (r.suggestedWeights) {
    out.push(`\nSuggested weights (L2 logistic regression on action counts, λ = ${r.fit!.lambda}, ${r.fit!.converged ? `converged in ${r.fit!.iterations} steps` : 'NOT converged'}; trained on ${r.fit!.trainedOn.leads} leads)`);
    out.push(table([['rule', 'now', 'suggested', 'log-odds / action'], ...r.suggestedWeights.weights.map((w) => [w.rule, String(w.current), w.suggested === null ? '— (no data)' : String(w.suggested), w.suggested === null ? '—' : num(w.coefficient, 3)])]));
  }
  if (r.evaluation) {
    const e = r.evaluation;
    out.push(`\nOn the holdout (${r.holdout.leads} leads, ${r.holdout.conversions} converted; share ${r.holdout.share}, seed ${r.holdout.seed})`);
    out.push(`  AUC of the engagement score ${num(e.aucScore, 3)}, of the conversion probability ${num(e.aucProbability, 3)}`);
    out.push(`  Brier score ${num(e.brier, 4)} (always the base rate: ${num(e.brierBaseline, 4)}); calibration error ${num(e.calibrationError, 4)}`);
    if (e.note) out.push(`  ${e.note}`);
    if (e.bins.length) out.push(table([['predicted', 'leads', 'mean predicted', 'observed'], ...e.bins.filter((b) => b.leads).map((b) => [`${pct(b.from)}–${pct(b.to)}`, String(b.leads), pct(b.predicted), pct(b.observed)])]));
  }
  return out.join('\n') + '\n';
}

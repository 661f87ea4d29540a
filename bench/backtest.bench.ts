/**
 * The backtest on 1,000,000 events: throughput (events/s) and peak memory of `npx leadlevel backtest`, run as a
 * user runs it (a child process on a file), beside a baseline in the same run: a child that only reads the same
 * file twice, line by line, and parses each line (the I/O and JSON the backtest cannot avoid). The events are
 * generated here (a simulated population, test/helpers/population.ts), never committed.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { population } from '../test/helpers/population.js';
import { median, report } from './report.js';

const TARGET = 1_000_000;
const dir = mkdtempSync(join(tmpdir(), 'leadlevel-bench-backtest-'));
const file = join(dir, 'events.ndjson');

// Written 10,000 leads at a time, so the generator never holds the whole population.
let events = 0;
let leads = 0;
const out = createWriteStream(file);
for (let chunk = 0; events < TARGET; chunk++) {
  const part = population({ leads: 10_000, seed: 1000 + chunk, start: Date.UTC(2026, 0, 1), prefix: `b${chunk}` });
  let text = '';
  for (const l of part) {
    for (const m of l.messages) {
      if (events === TARGET) break;
      text += JSON.stringify(m) + '\n';
      events++;
    }
    leads++;
    if (events === TARGET) break;
  }
  if (!out.write(text)) await new Promise<void>((r) => out.once("drain", () => r()));
}
await new Promise<void>((r) => out.end(() => r()));

/** Runs a child under /usr/bin/time: wall seconds and peak resident memory (MB). */
function timed(args: string[]): { seconds: number; peakMb: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  const kb = Number(r.stderr.trim().split('\n').pop());
  return { seconds, peakMb: kb / 1024, stdout: r.stdout };
}

const readOnly = `
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
let n = 0;
for (let pass = 0; pass < 2; pass++) for await (const line of createInterface({ input: createReadStream(process.argv[1]), crlfDelay: Infinity })) if (JSON.parse(line)) n++;
console.log(n);`;

const base: { seconds: number; peakMb: number }[] = [];
const runs: { seconds: number; peakMb: number }[] = [];
let result: { leads: number; conversions: number; events: number } | null = null;
for (let r = 0; r < 3; r++) {
  base.push(timed(['node', '--input-type=module', '-e', readOnly, file]));
  const run = timed(['node', 'scripts/leadlevel.js', 'backtest', file, '--json']);
  runs.push(run);
  result = JSON.parse(run.stdout);
}
rmSync(dir, { recursive: true, force: true });

const t = median(runs.map((x) => x.seconds));
const tb = median(base.map((x) => x.seconds));
report('backtest (1,000,000 events, median of 3 runs of npx leadlevel backtest --json)', [
  ['events, leads, converted', `${result!.events.toLocaleString('en-US')}, ${result!.leads.toLocaleString('en-US')}, ${result!.conversions.toLocaleString('en-US')}`],
  ['events per second (whole run, bundling and analysis included)', Math.round(events / t).toLocaleString('en-US')],
  ['wall time (s)', t.toFixed(2)],
  ['baseline: read and parse the file twice (s)', tb.toFixed(2)],
  ['ratio backtest : baseline', (t / tb).toFixed(2)],
  ['peak memory, backtest (MB, max RSS)', median(runs.map((x) => x.peakMb)).toFixed(0)],
  ['peak memory, baseline (MB, max RSS)', median(base.map((x) => x.peakMb)).toFixed(0)],
].filter((r) => r[1] !== ''));
void leads;

#!/usr/bin/env node
// `npx leadlevel backtest events.ndjson [--model draft.json] [--holdout 0.3] [--seed N] [--json]`: the conversion
// analysis of `GET /v1/insights/conversion`, offline, on an export (`GET /v1/export`, or any file of Segment
// messages one per line), replayed through the engine under a model (default leadlevel.model.json). The code is
// the Worker's own (shared/learn/backtest.ts), bundled by esbuild in memory as scripts/check-config.js does.
import { build } from 'esbuild';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const usage = 'usage: leadlevel backtest <events.ndjson> [--model <model.json>] [--holdout <0–0.9>] [--seed <integer>] [--json]';

function die(message) {
  console.error(`leadlevel: ${message}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { model: { type: 'string' }, holdout: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
} catch (err) {
  die(`${err.message}\n${usage}`);
}
const { values: opts, positionals } = parsed;
if (opts.help) {
  console.log(usage);
  process.exit(0);
}
const [command, file, ...extra] = positionals;
if (command !== 'backtest') die(command === undefined ? `a command is needed\n${usage}` : `"${command}" is not a command (backtest)\n${usage}`);
if (!file) die(`backtest needs the export to read (Segment messages, one per line)\n${usage}`);
if (extra.length) die(`one file at a time (also got ${extra.join(' ')})\n${usage}`);
const holdout = opts.holdout === undefined ? 0.3 : Number(opts.holdout);
if (!Number.isFinite(holdout) || holdout < 0 || holdout > 0.9) die(`--holdout must be a share from 0 to 0.9 (got "${opts.holdout}")`);
const seed = opts.seed === undefined ? 1 : Number(opts.seed);
if (!Number.isSafeInteger(seed)) die(`--seed must be a whole number (got "${opts.seed}")`);
try {
  if (!statSync(file).isFile()) die(`${file}: not a file`);
} catch (err) {
  die(`${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
}
const modelPath = opts.model ?? join(root, 'leadlevel.model.json');
let modelFile;
try {
  modelFile = JSON.parse(readFileSync(modelPath, 'utf8'));
} catch (err) {
  die(`${modelPath}: ${err.code === 'ENOENT' ? 'no such file' : `not JSON (${err.message})`}`);
}

const out = await build({ entryPoints: [join(root, 'shared', 'learn', 'backtest.ts')], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'warning' });
const lib = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);

let model;
try {
  model = lib.modelOf(modelFile);
} catch (err) {
  if (err instanceof lib.ModelError) die(`${modelPath}: ${err.problems.map((p) => `${p.path}: ${p.reason}`).join('; ')}`);
  throw err;
}

async function* lines() {
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

try {
  const started = Date.now();
  const result = await lib.backtest(model, { lines, progress: (pass, n) => console.error(`leadlevel: pass ${pass} of 2, ${n.toLocaleString('en')} lines (${((Date.now() - started) / 1000).toFixed(1)} s)`) }, { holdout, seed });
  if (opts.json) process.stdout.write(JSON.stringify({ lines: result.lines, events: result.events, ...result.report }, null, 2) + '\n');
  else process.stdout.write(lib.formatReport(result.report, result));
} catch (err) {
  if (err instanceof lib.ReplayError) die(`${file}: ${err.message}`);
  throw err;
}

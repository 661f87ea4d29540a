#!/usr/bin/env node
// `npm test`: every check, in order, stopping at the first failure — the SDK's size budget, type-checks, then
// every vitest project (shared/ in Node, the Worker in workerd, HTTP and browser tests against the collector).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const REPORT = 'test-results/vitest.json';
const steps = [
  ['SDK build, declarations and size budget', 'node', ['scripts/build-sdk.js', '--check', '--types']],
  ['dashboard assets', 'node', ['scripts/build-app.js']],
  ['Worker types match wrangler.toml (npm run types)', 'npx', ['wrangler', 'types', '--include-runtime=false', '--strict-vars=false', '--check', 'worker/configuration.d.ts']],
  ['type-check: Worker and shared', 'npx', ['tsc', '-p', 'tsconfig.json']],
  ['type-check: scripts, benchmarks, HTTP and browser tests', 'npx', ['tsc', '-p', 'tsconfig.node.json']],
  ['type-check: browser SDK', 'npx', ['tsc', '-p', 'tsconfig.sdk.json']],
  ['Chromium for the browser tests', 'node', ['scripts/ensure-chromium.js']],
  ['tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`]],
];

rmSync(REPORT, { force: true }); // a summary must never come from an earlier run
for (const [name, cmd, args] of steps) {
  console.log(`\n== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${name} failed (exit ${r.status ?? r.signal})`);
    printSummary();
    process.exit(r.status || 1);
  }
}
printSummary();

function printSummary() {
  try {
    const { numPassedTests, numFailedTests, numPendingTests } = JSON.parse(readFileSync(REPORT, 'utf8'));
    console.log(`\ntests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests} skipped`);
  } catch {
    // vitest did not get to run
  }
}

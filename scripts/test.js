#!/usr/bin/env node
// `npm test`: every check, in order — type-check, then every vitest project. Fails on the first failure.
import { spawnSync } from 'node:child_process';

const steps = [
  ['SDK build and size budget', 'node', ['scripts/build-sdk.js', '--check']],
  ['type-check: Worker and shared', 'npx', ['tsc', '-p', 'tsconfig.json']],
  ['type-check: scripts, benchmarks, HTTP and browser tests', 'npx', ['tsc', '-p', 'tsconfig.node.json']],
  ['type-check: browser SDK', 'npx', ['tsc', '-p', 'tsconfig.sdk.json']],
  ['Chromium for the browser tests', 'node', ['scripts/ensure-chromium.js']],
  ['tests', 'npx', ['vitest', 'run']],
];

for (const [name, cmd, args] of steps) {
  console.log(`\n== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

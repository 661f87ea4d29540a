#!/usr/bin/env node
// `npm test`: every check, in order — type-check, then every vitest project. Fails on the first failure.
import { spawnSync } from 'node:child_process';

const steps = [
  ['type-check: Worker and shared', 'npx', ['tsc', '-p', 'tsconfig.json']],
  ['type-check: scripts, benchmarks, HTTP and browser tests', 'npx', ['tsc', '-p', 'tsconfig.node.json']],
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

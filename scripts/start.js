#!/usr/bin/env node
// `npm start`: the collector, the SDK at /ll.js and the demo site at /, on local workerd with SQLite-backed
// Durable Objects. PORT overrides 8787.
import { spawn, spawnSync } from 'node:child_process';
import { configProblems, printProblems } from './check-config.js';

// A model or site file the Worker cannot serve stops here, before anything starts (it would answer only 503s).
const problems = await configProblems();
if (problems.length) {
  printProblems(problems, 'npm start');
  process.exit(1);
}

const port = process.env.PORT ?? '8787';
// No telemetry, and no download of request.cf data: nothing leaves loopback.
const quiet = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

// The lead index's schema in the local D1 (where --persist-to, if given, keeps it), as a deployment gets it
// from `wrangler d1 migrations apply leadlevel-index --remote`.
const extra = process.argv.slice(2);
const persist = extra.indexOf('--persist-to');
const where = persist >= 0 ? ['--persist-to', extra[persist + 1]] : [];
const migrated = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'leadlevel-index', '--local', ...where], { stdio: ['ignore', 'pipe', 'inherit'], env: quiet });
if (migrated.status !== 0) {
  console.error(`the local lead index could not be migrated:\n${migrated.stdout}`);
  process.exit(1);
}
// Extra arguments go to wrangler (the tests pass --persist-to a temporary folder).
const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', port, '--show-interactive-dev-session=false', '--var', 'ENVIRONMENT:development', '--var', 'DEMO_MODE:true', ...extra];
const child = spawn('npx', args, { stdio: 'inherit', env: { ...quiet, CI: process.env.CI ?? '' } });
child.on('exit', (code) => process.exit(code ?? 1));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));

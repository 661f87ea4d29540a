#!/usr/bin/env node
// `npm start`: the collector, the SDK at /ll.js and the demo site at /, on local workerd with SQLite-backed
// Durable Objects. PORT overrides 8787.
import { spawn } from 'node:child_process';
import { configProblems, printProblems } from './check-config.js';

// A model or site file the Worker cannot serve stops here, before anything starts (it would answer only 503s).
const problems = await configProblems();
if (problems.length) {
  printProblems(problems, 'npm start');
  process.exit(1);
}

const port = process.env.PORT ?? '8787';
// Extra arguments go to wrangler (the tests pass --persist-to a temporary folder).
const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', port, '--show-interactive-dev-session=false', '--var', 'ENVIRONMENT:development', '--var', 'DEMO_MODE:true', ...process.argv.slice(2)];
const child = spawn('npx', args, {
  stdio: 'inherit',
  // No telemetry, and no download of request.cf data: nothing leaves loopback.
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
});
child.on('exit', (code) => process.exit(code ?? 1));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));

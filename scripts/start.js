#!/usr/bin/env node
// `npm start`: the collector, the SDK at /ll.js and the demo site at /, on local workerd with SQLite-backed
// Durable Objects. PORT overrides 8787.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

// A fresh local deployment gets the simulated population once (scripts/simulate.ts, README "The simulated
// population"), through the real ingest path, so the insights and the queue show real figures; a marker in the
// local state keeps restarts from loading it again. LEADLEVEL_SIMULATE=off skips it (the tests' instances do).
// Only this script calls it: a deployment never does.
const state = persist >= 0 ? extra[persist + 1] : join('.wrangler', 'state');
const marker = join(state, 'leadlevel-simulated.json');
if (process.env.LEADLEVEL_SIMULATE !== 'off' && !existsSync(marker)) {
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 300) {
      console.error('npm start: the collector did not come up, so the simulated population was not loaded');
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const { loadSimulation } = await import('./simulate-run.js');
  const seed = Number(process.env.LEADLEVEL_SIMULATE_SEED ?? 1);
  const leads = Number(process.env.LEADLEVEL_SIMULATE_LEADS ?? 1_000);
  try {
    const summary = await loadSimulation({ url, seed, leads, days: 90 });
    mkdirSync(state, { recursive: true });
    writeFileSync(marker, JSON.stringify({ loadedAt: new Date().toISOString(), seed, ...summary }, null, 2));
  } catch (err) {
    // The collector runs on; the next start tries again (the same message ids: nothing is counted twice).
    console.error(`npm start: the simulated population was not loaded: ${err?.message ?? err}`);
  }
}

#!/usr/bin/env node
// `npm run simulate -- --url http://127.0.0.1:8787 [--seed 1] [--leads 1000] [--days 90]`: sends the simulated
// population (scripts/simulate.ts, bundled here with esbuild as the benchmarks are) to a running collector.
// scripts/start.js calls loadSimulation once per fresh local deployment.
import { build } from 'esbuild';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function loadSimulation(options) {
  const outfile = join('node_modules', '.cache', 'leadlevel-simulate', 'simulate.mjs');
  await build({ entryPoints: ['scripts/simulate.ts'], bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'warning' });
  const { simulate } = await import(pathToFileURL(outfile).href);
  let shown = 0;
  const t0 = Date.now();
  const summary = await simulate({
    ...options,
    onProgress: (sent, total) => {
      if (sent - shown >= total / 10 || sent === total) {
        shown = sent;
        console.log(`  simulated population: ${sent} of ${total} messages sent`);
      }
    },
  });
  console.log(`  simulated population loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${summary.leads} leads (${summary.identified} identified, ${summary.opportunities} opportunities, ${summary.won} won, ${summary.bounced} bounced, ${summary.unsubscribed} unsubscribed)`);
  return summary;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outfile = join('node_modules', '.cache', 'leadlevel-simulate', 'simulate.mjs');
  await build({ entryPoints: ['scripts/simulate.ts'], bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'warning' });
  const { simulateArgs } = await import(pathToFileURL(outfile).href);
  const args = simulateArgs(process.argv.slice(2));
  await loadSimulation({ url: 'http://127.0.0.1:8787', ...args });
}

#!/usr/bin/env node
// `npm run bench`: bundles each bench/*.bench.ts with esbuild and runs it in Node, printing its figures.
// Figures are ratios against a baseline measured in the same run where the budget is relative.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const only = process.argv[2];
const out = join('node_modules', '.cache', 'leadlevel-bench');
const files = readdirSync('bench').filter((f) => f.endsWith('.bench.ts') && (!only || f.includes(only)));
for (const f of files) {
  const outfile = join(out, f.replace(/\.ts$/, '.mjs'));
  await build({ entryPoints: [join('bench', f)], bundle: true, platform: 'node', format: 'esm', outfile, packages: 'external', logLevel: 'warning' });
  await import(pathToFileURL(outfile).href);
}

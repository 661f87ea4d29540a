#!/usr/bin/env node
// Checks leadlevel.model.json, leadlevel.site.json and leadlevel.teams.json together, with the Worker's own code (worker/config.ts,
// bundled by esbuild as the benchmarks are), so a configuration the Worker could not serve stops here with the
// problem list: `npm start` runs it first, and wrangler.toml's [build] before every `wrangler dev` and deploy.
// LEADLEVEL_MODEL_FILE, LEADLEVEL_SITE_FILE and LEADLEVEL_TEAMS_FILE check other files (a candidate model before it replaces the live one).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');

async function checker() {
  // Bundled in memory and imported as a data: URL: nothing written, so parallel runs cannot trip over each other.
  const out = await build({ entryPoints: [join(root, 'worker', 'config.ts')], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'warning' });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}

/** Every problem of the three files, as `{ file, path, reason }`; empty when the Worker can serve them. */
export async function configProblems({ model = process.env.LEADLEVEL_MODEL_FILE, site = process.env.LEADLEVEL_SITE_FILE, teams = process.env.LEADLEVEL_TEAMS_FILE } = {}) {
  const paths = { model: model ?? join(root, 'leadlevel.model.json'), site: site ?? join(root, 'leadlevel.site.json'), teams: teams ?? join(root, 'leadlevel.teams.json') };
  const files = { model: basename(paths.model), site: basename(paths.site), teams: basename(paths.teams) };
  const parsed = {};
  const problems = [];
  for (const which of ['model', 'site', 'teams']) {
    try {
      parsed[which] = JSON.parse(readFileSync(paths[which], 'utf8'));
    } catch (err) {
      problems.push({ file: files[which], path: '(file)', reason: err.code === 'ENOENT' ? 'not found' : `is not JSON: ${err.message}` });
    }
  }
  // A file that is not JSON is fixed first: checking the other against nothing would only add noise.
  if (problems.length) return problems;
  const { checkConfig } = await checker();
  return checkConfig(parsed.model, parsed.site, parsed.teams, files);
}

export function printProblems(problems, what = 'leadlevel') {
  console.error(`\n${what}: the configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}; fix ${problems.length === 1 ? 'it' : 'them'} and try again:`);
  for (const p of problems) console.error(`  ${p.file} ${p.path}: ${p.reason}`);
  console.error('');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const problems = await configProblems();
  if (problems.length) {
    printProblems(problems);
    process.exit(1);
  }
  console.log('leadlevel: leadlevel.model.json, leadlevel.site.json and leadlevel.teams.json are valid');
}

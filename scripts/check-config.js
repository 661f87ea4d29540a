#!/usr/bin/env node
// Checks leadlevel.model.json, leadlevel.site.json and leadlevel.teams.json together, with the Worker's own code (worker/config.ts,
// bundled by esbuild as the benchmarks are), so a configuration the Worker could not serve stops here with the
// problem list: `npm start` runs it first, and wrangler.toml's [build] before every `wrangler dev` and deploy.
// LEADLEVEL_MODEL_FILE, LEADLEVEL_SITE_FILE and LEADLEVEL_TEAMS_FILE check other files (a candidate model before it replaces the live one).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_TEAMS_FILE, TEAMS_SPECIFIER, teamsModuleSource } from './teams-module.js';

const root = join(fileURLToPath(import.meta.url), '..', '..');

async function checker(teamsFile) {
  // Bundled in memory and imported as a data: URL: nothing written, so parallel runs cannot trip over each other.
  // The teams module (scripts/teams-module.js) is made in memory too, for the file being checked.
  const teams = {
    name: 'teams',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${TEAMS_SPECIFIER}$`) }, () => ({ path: TEAMS_SPECIFIER, namespace: 'teams' }));
      b.onLoad({ filter: /.*/, namespace: 'teams' }, () => ({ contents: teamsModuleSource(teamsFile, join(root, 'teams.js')), resolveDir: root, loader: 'js' }));
    },
  };
  const out = await build({ entryPoints: [join(root, 'worker', 'config.ts')], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'warning', plugins: [teams] });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}

/** Every problem of the three files, as `{ file, path, reason }`; empty when the Worker can serve them. */
export async function configProblems({ model = process.env.LEADLEVEL_MODEL_FILE, site = process.env.LEADLEVEL_SITE_FILE, teams = process.env.LEADLEVEL_TEAMS_FILE } = {}) {
  // An empty variable is an unset one, as for scripts/teams-module.js.
  const paths = { model: model || join(root, 'leadlevel.model.json'), site: site || join(root, 'leadlevel.site.json'), teams: teams || DEFAULT_TEAMS_FILE };
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
  const { checkConfig } = await checker(paths.teams);
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
  const name = (env, file) => (process.env[env] ? basename(process.env[env]) : file);
  console.log(`leadlevel: ${name('LEADLEVEL_MODEL_FILE', 'leadlevel.model.json')}, ${name('LEADLEVEL_SITE_FILE', 'leadlevel.site.json')} and ${name('LEADLEVEL_TEAMS_FILE', 'leadlevel.teams.json')} are valid`);
}

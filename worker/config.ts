/**
 * The model file, the site file and the teams file, checked as a whole: the site's content variants and
 * treatments and the teams' routes name levels, stages and scoring types, and only the model knows which exist. One function for `npm start` and the deploy build
 * (scripts/check-config.js, which stop with the problem list) and for the running Worker (which answers 503
 * `config_invalid` with it), so a configuration that starts is one that serves — never "Ready" and then a 500.
 */
import configuredModel from '../leadlevel.model.json';
import configuredSite from '../leadlevel.site.json';
import { compileModel, ModelError } from '../shared/compile.js';
import type { Problem } from '../shared/validate.js';
import { resolveModel } from './model.js';
import { configuredTeams, shapeOf, TEAMS_FILE, validateTeams, type ModelShape } from './notify/teams.js';
import { validateSite } from './site.js';

export const MODEL_FILE = 'leadlevel.model.json';
export const SITE_FILE = 'leadlevel.site.json';
const NO_TEAMS = { teams: [], routes: [] };

export interface ConfigProblem extends Problem {
  /** The file to edit. */
  file: string;
}

/** Every problem of the model, site and teams files (as parsed JSON) together; empty when the Worker can serve them. */
/** `teamsFile` left out: a deployment with no teams (nothing routed, nobody told). */
export function checkConfig(modelFile: unknown, siteFile: unknown, teamsFile: unknown = NO_TEAMS, files = { model: MODEL_FILE, site: SITE_FILE, teams: TEAMS_FILE }): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  let levels: string[] | undefined;
  let shape: ModelShape | undefined;
  try {
    // The Worker's own path: resolve `extends`, validate, compile. What compiles here compiles there.
    const model = compileModel(resolveModel(modelFile));
    levels = model.types[0].tierIds;
    shape = shapeOf(model);
  } catch (err) {
    if (err instanceof ModelError) problems.push(...err.problems.map((p) => ({ file: files.model, ...p })));
    else problems.push({ file: files.model, path: '(file)', reason: `could not be compiled: ${(err as Error)?.message ?? String(err)}` });
  }
  // Site content is checked against the model's levels only when there is a model to check it against.
  problems.push(...validateSite(siteFile, levels).map((p) => ({ file: files.site, ...p })));
  problems.push(...validateTeams(teamsFile, shape).map((p) => ({ file: files.teams, ...p })));
  return problems;
}

export function formatConfigProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `${p.file} ${p.path}: ${p.reason}`).join('\n');
}

let deployed: ConfigProblem[] | undefined;
/** The problems of the files bundled into this Worker, checked once per isolate. */
export function deployedConfigProblems(): ConfigProblem[] {
  return (deployed ??= checkConfig(configuredModel, configuredSite, configuredTeams));
}

// Types of scripts/teams-module.js, for vitest.config.ts and the benchmarks.
export const TEAMS_SPECIFIER: string;
export const DEFAULT_TEAMS_FILE: string;
export const DEFAULT_TEAMS_MODULE: string;
export function teamsModuleSource(teamsFile: string, modulePath: string): string;
export function writeTeamsModule(teamsFile?: string, modulePath?: string): string;

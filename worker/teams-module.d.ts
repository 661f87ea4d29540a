/**
 * The teams file this Worker runs (LEADLEVEL_TEAMS_FILE, else leadlevel.teams.json): wrangler.toml's [alias]
 * and scripts/teams-module.js make it, vitest.config.ts swaps in the tests' file. Validated before use
 * (worker/notify/teams.ts, worker/config.ts).
 */
declare module 'leadlevel-teams' {
  /** The file's name, as problems name it. */
  export const file: string;
  const teams: unknown;
  export default teams;
}

/**
 * Vitest global setup for tests over HTTP: the collector as `npm start` runs it, on a free port, with a teams file
 * of its own chosen by LEADLEVEL_TEAMS_FILE (the Worker tests' routes, with destinations on a loopback receiver
 * started here), as a deployment selects one.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocal } from '../../scripts/local-collector.js';
import { startReceiver } from './receiver.js';

declare module 'vitest' {
  export interface ProvidedContext {
    collector: string;
    /** The loopback receiver the collector's teams file sends to (test/e2e/receiver.ts). */
    receiver: string;
  }
}

/** The name of the teams file the collector runs: problems and messages name it. */
export const E2E_TEAMS_FILE = 'e2e.teams.json';

export default async function setup(project: TestProject) {
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'leadlevel-e2e-teams-'));
  const teams = join(dir, E2E_TEAMS_FILE);
  writeFileSync(teams, readFileSync('test/worker/teams.fixture.json', 'utf8').replaceAll('RECEIVER', receiver));
  const local = await startLocal([], { LEADLEVEL_TEAMS_FILE: teams });
  project.provide('collector', local.url);
  project.provide('receiver', receiver);
  return () => {
    local.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

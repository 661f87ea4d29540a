/** The configuration check as operators meet it: `node scripts/check-config.js` (the deploy build) and `npm start`. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'leadlevel-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const run = (script: string, env: Record<string, string> = {}) =>
  spawnSync('node', [script], { encoding: 'utf8', env: { ...process.env, ...env, PORT: '1' }, timeout: 60_000 });

describe('scripts/check-config.js', () => {
  it('passes the shipped files', () => {
    const r = run('scripts/check-config.js');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/are valid/);
  });

  it('stops with the problem list and exit 1: the README’s three-tier model with the shipped site file', () => {
    const r = run('scripts/check-config.js', { LEADLEVEL_MODEL_FILE: file('three.json', '{ "extends": "b2b-three-tier" }') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the configuration has 7 problems/);
    expect(r.stderr).toContain('leadlevel.site.json treatments.very_hot: no level "very_hot" (levels: cold, warm, hot)');
    expect(r.stderr).toContain('leadlevel.teams.json routes[3].when.level: no level "very_hot" (levels: cold, warm, hot)');
  });

  it('LEADLEVEL_TEAMS_FILE checks another teams file: a route to an unknown team stops it', () => {
    const r = run('scripts/check-config.js', { LEADLEVEL_TEAMS_FILE: file('teams.json', '{ "teams": [], "routes": [{ "when": { "level": "hot" }, "team": "closers" }] }') });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('teams.json routes[0].team: no team "closers" (teams: none)');
  });

  it('an unknown extends, null, a file that is not JSON, a missing file', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ LEADLEVEL_MODEL_FILE: file('fancy.json', '{ "extends": "b2b-fancy" }') }, /fancy\.json extends: "b2b-fancy" is not a shipped model/],
      [{ LEADLEVEL_MODEL_FILE: file('null.json', 'null') }, /null\.json \(file\): must be a JSON object/],
      [{ LEADLEVEL_SITE_FILE: file('broken.json', '{ "content": ') }, /broken\.json \(file\): is not JSON/],
      [{ LEADLEVEL_MODEL_FILE: join(dir, 'nowhere.json') }, /nowhere\.json \(file\): not found/],
    ];
    for (const [env, message] of cases) {
      const r = run('scripts/check-config.js', env);
      expect(r.status, r.stdout).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('npm start', () => {
  it('stops before starting anything when the configuration has a problem', () => {
    const started = Date.now();
    const r = run('scripts/start.js', { LEADLEVEL_MODEL_FILE: file('three-again.json', '{ "extends": "b2b-three-tier" }') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/npm start: the configuration has 7 problems/);
    expect(r.stdout + r.stderr).not.toMatch(/wrangler|Ready on/i);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

/**
 * LEADLEVEL_TEAMS_FILE selects the teams file `wrangler deploy` bundles (wrangler.toml's [build] writes the
 * `leadlevel-teams` module with scripts/teams-module.js), not only the file checked. Run on a copy of the
 * checkout, so the copy's worker/generated/ is its own and no local collector running here is rebuilt.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'leadlevel-teams-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const checkout = join(dir, 'checkout');
for (const f of ['worker', 'shared', 'scripts', 'sdk', 'migrations', 'demo-site', 'package.json', 'wrangler.toml', 'leadlevel.model.json', 'leadlevel.site.json', 'leadlevel.teams.json']) {
  cpSync(f, join(checkout, f), { recursive: true, filter: (src) => !src.includes('generated') });
}
symlinkSync(resolve('node_modules'), join(checkout, 'node_modules'));

/** `wrangler deploy --dry-run` of the copy with these variables: its exit, output and bundled Worker. */
function deploy(env: Record<string, string>) {
  const out = join(dir, `out-${Object.keys(env).length}-${Date.now()}`);
  const r = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], {
    cwd: checkout,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', LEADLEVEL_TEAMS_FILE: '', ...env },
    timeout: 90_000,
  });
  let bundle = '';
  try {
    bundle = readdirSync(out).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(out, f), 'utf8')).join('\n');
  } catch {
    // nothing was bundled
  }
  return { status: r.status, log: r.stdout + r.stderr, bundle };
}

const other = (routes: unknown[]) =>
  JSON.stringify({
    teams: [{ id: 'closers', name: 'Closers of the selected file', destinations: [{ type: 'webhook', url: 'https://hooks.example.com/closers' }] }],
    routes,
  });

// Each case bundles the Worker with wrangler (seconds, more on a loaded machine): the spawn's own limit is the test's.
describe('LEADLEVEL_TEAMS_FILE and the deploy build', { timeout: 120_000 }, () => {
  it('bundles the selected file in place of leadlevel.teams.json', () => {
    const teams = join(dir, 'closers.teams.json');
    writeFileSync(teams, other([{ when: { level: 'very_hot' }, team: 'closers' }]));
    const r = deploy({ LEADLEVEL_TEAMS_FILE: teams });
    expect(r.status, r.log).toBe(0);
    expect(r.log).toContain('closers.teams.json are valid');
    expect(r.bundle).toContain('Closers of the selected file');
    expect(r.bundle).toContain('https://hooks.example.com/closers');
    expect(r.bundle).not.toContain('127.0.0.1:9/leadlevel');
  });

  it('bundles leadlevel.teams.json without it', () => {
    const r = deploy({});
    expect(r.status, r.log).toBe(0);
    expect(r.bundle).toContain('127.0.0.1:9/leadlevel/ae');
    expect(r.bundle).not.toContain('Closers of the selected file');
  });

  it('a selected file with a route to an unknown level stops the deploy with the problem', () => {
    const teams = join(dir, 'bad.teams.json');
    writeFileSync(teams, other([{ when: { level: 'scorching' }, team: 'closers' }]));
    const r = deploy({ LEADLEVEL_TEAMS_FILE: teams });
    expect(r.status).not.toBe(0);
    expect(r.log).toContain('bad.teams.json routes[0].when.level: no level "scorching"');
    expect(r.bundle).toBe('');
  });
});

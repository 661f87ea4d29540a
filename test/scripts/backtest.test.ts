import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../shared/compile.js';
import { analyze } from '../../shared/learn/analysis.js';
import { Replay } from '../../shared/learn/replay.js';
import { b2bDefault } from '../../shared/models/b2b-default.js';
import { population } from '../helpers/population.js';

const dir = mkdtempSync(join(tmpdir(), 'leadlevel-backtest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync('node', ['scripts/leadlevel.js', ...args], { encoding: 'utf8' });

// An export as GET /v1/export writes it: one lead after another, each oldest first, with the stored ids.
const leads = population({ leads: 400, seed: 21, start: Date.UTC(2026, 0, 5) });
const lines = leads.flatMap((l) => l.messages.map((m) => JSON.stringify({ ...m, messageId: `srv:${m.messageId as string}` })));
const file = join(dir, 'export.ndjson');
writeFileSync(file, lines.join('\n') + '\n');

describe('npx leadlevel backtest', () => {
  it('prints, with --json, the analysis of the replayed export', () => {
    const r = cli('backtest', file, '--json', '--holdout', '0.25', '--seed', '4');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const replay = new Replay(compileModel(b2bDefault));
    lines.forEach((l, i) => replay.link(l, i + 1));
    lines.forEach((l, i) => replay.add(l, i + 1));
    expect(out).toEqual(JSON.parse(JSON.stringify({ lines: lines.length, events: lines.length, ...analyze(compileModel(b2bDefault), replay.records(), { holdout: 0.25, seed: 4 }) })));
    expect(out.leads).toBe(400);
    expect(out.conversions).toBe(leads.filter((l) => l.converted).length);
    expect(out.enoughData).toBe(true);
  });

  it('prints a report for people by default, the same for the same seed', () => {
    const a = cli('backtest', file);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^leadlevel backtest — model b2b-default v1\n/);
    for (const heading of ['Conversion per level', 'Conversion per engagement-score band', 'Lift per action', 'Suggested weights', 'On the holdout']) expect(a.stdout).toContain(heading);
    expect(a.stdout).toMatch(/trigger email_click .*below 3×/);
    expect(cli('backtest', file).stdout).toBe(a.stdout);
    expect(cli('backtest', file, '--seed', '2').stdout).not.toBe(a.stdout);
  });

  it('runs a draft model given with --model', () => {
    const draft = join(dir, 'draft.json');
    writeFileSync(draft, JSON.stringify({ extends: 'b2b-three-tier' }));
    const out = JSON.parse(cli('backtest', file, '--model', draft, '--json').stdout);
    expect(out.model.id).toBe('b2b-three-tier');
    expect(out.levels.map((l: { level: string }) => l.level)).toEqual(['cold', 'warm', 'hot']);
  });

  it('says "not enough data" on a small export', () => {
    const small = join(dir, 'small.ndjson');
    writeFileSync(small, lines.slice(0, 40).join('\n'));
    const r = cli('backtest', small);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/WARNING: not enough data: \d+ converted/);
  });

  it('refuses bad arguments and files with one clear line and exit 2', () => {
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${lines[0]}\n{"type":"page"}\n`);
    const badModel = join(dir, 'bad-model.json');
    writeFileSync(badModel, JSON.stringify({ extends: 'nope' }));
    const cases: [string[], RegExp][] = [
      [[], /a command is needed/],
      [['frobnicate'], /"frobnicate" is not a command/],
      [['backtest'], /needs the export to read/],
      [['backtest', join(dir, 'missing.ndjson')], /missing\.ndjson: no such file/],
      [['backtest', file, '--holdout', 'x'], /--holdout must be a share from 0 to 0\.9/],
      [['backtest', file, '--seed', '1.5'], /--seed must be a whole number/],
      [['backtest', file, '--bogus'], /Unknown option/],
      [['backtest', bad], /bad\.ndjson: line 2: .*userId or an anonymousId/],
      [['backtest', file, '--model', badModel], /bad-model\.json: extends: "nope" is not a shipped model/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0], args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });
});

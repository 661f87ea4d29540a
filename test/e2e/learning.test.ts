/**
 * The backtest and the API agree: a population ingested through the collector as `npm start` runs it, its
 * analysis read from `GET /v1/insights/conversion`, its history from `GET /v1/export`, and `npx leadlevel
 * backtest` run on that export — the same numbers, field for field.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { population } from '../helpers/population.js';

const collector = inject('collector');
const auth = { Authorization: 'Basic ' + Buffer.from('sk_dev:').toString('base64') };
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'leadlevel-e2e-learning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Long before the simulated population (scripts/simulate.ts: the last 90 days), which shares this collector.
const start = Math.floor((Date.now() - 200 * DAY) / 3_600_000) * 3_600_000;
const period = `from=${new Date(start - 3_600_000).toISOString()}&to=${new Date(start + 25 * DAY).toISOString()}`;
const leads = population({ leads: 150, seed: 41, start, prefix: `e2e-learn-${Date.now().toString(36)}` });

describe('the CLI’s numbers equal the API’s on the same events', () => {
  // Hundreds of leads through the collector, then the index, the API and the CLI: minutes on a loaded machine.
  it('ingest, analyse, export, backtest', { timeout: 240_000 }, async () => {
    const messages = leads.flatMap((l) => l.messages);
    for (let i = 0; i < messages.length; i += 100) {
      const res = await fetch(`${collector}/v1/batch`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ batch: messages.slice(i, i + 100) }) });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    // Each lead's index row arrives through its outbox within a couple of seconds (a busy lead's refresh 2 s
    // after its last batch): read until every lead is there and the answer holds still for 3 s.
    const read = async () => (await fetch(`${collector}/v1/insights/conversion?${period}&holdout=0.3&seed=1`, { headers: auth })).json() as Promise<any>;
    let api: any = null;
    for (let i = 0; i < 40; i++) {
      const now = await read();
      if (now.leads === leads.length && JSON.stringify(now) === JSON.stringify(api)) break;
      api = now;
      await new Promise((r) => setTimeout(r, 3_000));
    }
    expect(api.leads).toBe(leads.length);
    expect(api.enoughData).toBe(true);
    const res = await fetch(`${collector}/v1/export?${period}`, { headers: auth });
    expect(res.status).toBe(200);
    const file = join(dir, 'export.ndjson');
    writeFileSync(file, await res.text());
    const cli = spawnSync('node', ['scripts/leadlevel.js', 'backtest', file, '--json', '--holdout', '0.3', '--seed', '1'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    const { lines, events, ...offline } = JSON.parse(cli.stdout);
    expect(lines).toBe(messages.length);
    expect(events).toBe(messages.length);
    expect(offline).toEqual(api);
  });
});

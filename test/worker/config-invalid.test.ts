/**
 * A Worker reached with a configuration it cannot serve (npm start and the deploy build refuse it; this is the
 * last line): 503 `config_invalid` with the problems on every route, never a 500.
 */
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { SECRET, env } from './helpers.js';

// The README's own example, with the shipped site file (which names engaged and very_hot): started "Ready", then
// answered 500 on every route.
vi.mock('../../leadlevel.model.json', () => ({ default: { extends: 'b2b-three-tier' } }));

describe('a model and site file that do not fit together', () => {
  it('every route answers 503 config_invalid, naming each problem', async () => {
    const { default: app } = await import('../../worker/index.js');
    const send = (path: string, init: RequestInit = {}) => app.fetch(new Request(`http://collector.test${path}`, init), env as never, createExecutionContext());
    for (const [path, init] of [
      ['/v1/leads/x', { headers: { Authorization: SECRET } }],
      ['/v1/batch', { method: 'POST', headers: { Authorization: SECRET }, body: JSON.stringify({ batch: [{ type: 'page', userId: 'u' }] }) }],
      ['/health', {}],
      ['/', {}],
      ['/pricing', {}],
    ] as const) {
      const res = await send(path, init);
      const text = await res.text();
      expect(res.status, `${path}: ${text}`).toBe(503);
      const body = JSON.parse(text);
      expect(body.error).toBe('config_invalid');
      expect(body.problems).toEqual([
        { file: 'leadlevel.site.json', path: 'content.hero-cta.engaged', reason: 'no level "engaged" (levels: cold, warm, hot, or default)' },
        { file: 'leadlevel.site.json', path: 'content.hero-cta.very_hot', reason: 'no level "very_hot" (levels: cold, warm, hot, or default)' },
        { file: 'leadlevel.site.json', path: 'treatments.very_hot', reason: 'no level "very_hot" (levels: cold, warm, hot)' },
        { file: 'leadlevel.site.json', path: 'treatments.engaged', reason: 'no level "engaged" (levels: cold, warm, hot)' },
        // The teams file's routes name levels too.
        { file: 'leadlevel.teams.json', path: 'routes[0].when.level', reason: 'no level "engaged" (levels: cold, warm, hot)' },
        { file: 'leadlevel.teams.json', path: 'routes[3].when.level', reason: 'no level "very_hot" (levels: cold, warm, hot)' },
        { file: 'leadlevel.teams.json', path: 'routes[4].when.level', reason: 'no level "very_hot" (levels: cold, warm, hot)' },
      ]);
    }
  });
});

/**
 * A model file whose fit section is wrong: the Worker answers 503 `config_invalid` naming each mistake (npm start
 * and the deploy build stop with the same list), never a 500 and never a lead graded by half a rule set.
 */
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { SECRET, env } from './helpers.js';

vi.mock('../../leadlevel.model.json', () => ({
  default: {
    extends: 'b2b-default',
    fit: {
      rules: [
        { trait: 'employees', gte: 500, lte: 200, points: 20, label: '200+ employees' },
        { trait: 'title', matches: '(VP|Head)+$', points: 10, label: 'Senior' },
        { trait: 'industry', in: ['Software'], points: 10 },
        { trait: 'country', equals: 'US', points: 5, label: 'US' },
      ],
      grades: { A: 40, B: 60, C: 20, D: 0 },
    },
  },
}));

describe('a model file with a bad fit section', () => {
  it('every route answers 503 config_invalid with the fit problems, each with where it is and what to do', async () => {
    const { default: app } = await import('../../worker/index.js');
    for (const path of ['/v1/leads/x', '/v1/leads?fit=A', '/health']) {
      const res = await app.fetch(new Request(`http://collector.test${path}`, { headers: { Authorization: SECRET } }), env as never, createExecutionContext());
      const text = await res.text();
      expect(res.status, `${path}: ${text}`).toBe(503);
      const body = JSON.parse(text);
      expect(body.error).toBe('config_invalid');
      expect(body.problems.map((p: any) => `${p.file} ${p.path}: ${p.reason}`)).toEqual([
        'leadlevel.model.json fit.rules[0]: matches nothing: gte 500 is above lte 200',
        'leadlevel.model.json fit.rules[1].matches: "(VP" has "(": matches takes plain words (letters, digits, spaces, & . \' / + -) separated by |, not a regular expression',
        'leadlevel.model.json fit.rules[1].matches: "Head)+$" has ")": matches takes plain words (letters, digits, spaces, & . \' / + -) separated by |, not a regular expression',
        'leadlevel.model.json fit.rules[2].label: must be a non-empty text of at most 100 characters, shown with the points (e.g. "200+ employees")',
        'leadlevel.model.json fit.rules[3].equals: unknown key (use trait, label, points, gte, lte, in, matches, exists, otherwise)',
        'leadlevel.model.json fit.rules[3]: needs a condition: gte and/or lte (a number), in (a list of values), matches (words) or exists',
        'leadlevel.model.json fit.grades.D: D has no threshold: it is every score below C; remove it',
        'leadlevel.model.json fit.grades.B: grades must descend: B (60) is not below A (40)',
      ]);
    }
  });
});

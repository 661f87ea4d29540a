/** The model file and the site file, checked as a whole (worker/config.ts): what npm start, deploy and the Worker use. */
import { describe, expect, it } from 'vitest';
import shippedModel from '../../leadlevel.model.json';
import shippedSite from '../../leadlevel.site.json';
import { checkConfig, formatConfigProblems } from '../../worker/config.js';

const paths = (model: unknown, site: unknown = shippedSite) => checkConfig(model, site).map((p) => `${p.file} ${p.path}`);

describe('checkConfig', () => {
  it('the shipped files are valid', () => {
    expect(checkConfig(shippedModel, shippedSite)).toEqual([]);
  });

  it('the README’s {"extends": "b2b-three-tier"} with the shipped site file: every level the model lacks', () => {
    const problems = checkConfig({ extends: 'b2b-three-tier' }, shippedSite);
    expect(formatConfigProblems(problems)).toBe(
      [
        'leadlevel.site.json content.hero-cta.engaged: no level "engaged" (levels: cold, warm, hot, or default)',
        'leadlevel.site.json content.hero-cta.very_hot: no level "very_hot" (levels: cold, warm, hot, or default)',
        'leadlevel.site.json treatments.very_hot: no level "very_hot" (levels: cold, warm, hot)',
        'leadlevel.site.json treatments.engaged: no level "engaged" (levels: cold, warm, hot)',
      ].join('\n'),
    );
    // A site file written for three tiers fits it.
    const threeTierSite = { origin: null, content: { 'hero-cta': { cold: 'a', hot: 'b', default: 'c' } }, treatments: { hot: shippedSite.treatments.hot } };
    expect(checkConfig({ extends: 'b2b-three-tier' }, threeTierSite)).toEqual([]);
  });

  it('an unknown extends, or one that is not a string, or a name only an object prototype has', () => {
    for (const base of ['b2b-fancy', 42, 'toString', '__proto__']) {
      const problems = checkConfig({ extends: base }, shippedSite);
      expect(problems).toEqual([{ file: 'leadlevel.model.json', path: 'extends', reason: expect.stringMatching(/is not a shipped model \(b2b-default, b2b-three-tier\)/) }]);
    }
  });

  it('files that are not objects: null, an array, a string — each named, never a crash', () => {
    expect(paths(null)).toEqual(['leadlevel.model.json (file)']);
    expect(paths([], null)).toEqual(['leadlevel.model.json (file)', 'leadlevel.site.json (file)']);
    expect(paths(shippedModel, 'x')).toEqual(['leadlevel.site.json (file)']);
    // A model the validator chokes on is still a problem in the list, not an exception.
    expect(paths({ id: 'x', scoringTypes: [null] }).every((p) => p.startsWith('leadlevel.model.json'))).toBe(true);
    expect(paths({ id: 'x', scoringTypes: [null] }).length).toBeGreaterThan(0);
  });

  it('a broken model is reported without checking the site against levels it cannot know; site shape is still checked', () => {
    const problems = checkConfig({ extends: 'b2b-default', scoringTypes: [] }, { content: { hero: 'not a map' }, treatments: { nowhere: {} } });
    expect(problems.map((p) => `${p.file} ${p.path}`)).toEqual(['leadlevel.model.json scoringTypes', 'leadlevel.site.json content.hero', 'leadlevel.site.json treatments.nowhere']);
    expect(problems[2].reason).toMatch(/needs salesInvolvement/);
  });

  it('with the default model: a content variant or treatment for a level that does not exist', () => {
    const site = { ...shippedSite, content: { hero: { scorching: '<b>x</b>', default: '<i>y</i>' } }, treatments: { ...shippedSite.treatments, lukewarm: shippedSite.treatments.warm } };
    expect(paths(shippedModel, site)).toEqual(['leadlevel.site.json content.hero.scorching', 'leadlevel.site.json treatments.lukewarm']);
  });
});

/** The files an operator edits, and the SDK as the Worker serves it. */
import { describe, expect, it } from 'vitest';
import { validateModel } from '../../shared/compile.js';
import configuredModel from '../../leadlevel.model.json';
import configuredSite from '../../leadlevel.site.json';
import { SDK_HASH } from '../../worker/generated/sdk.js';
import { resolveModel } from '../../worker/model.js';
import { validateSite } from '../../worker/site.js';
import { call } from './helpers.js';

describe('leadlevel.model.json and leadlevel.site.json', () => {
  it('the shipped files are valid', () => {
    const model = resolveModel(configuredModel);
    expect(validateModel(model)).toEqual([]);
    expect(validateSite(configuredSite, model.scoringTypes[0].tiers.map((t) => t.id))).toEqual([]);
  });

  it('"extends" picks a shipped model; an unknown one is named in the error', () => {
    const three = resolveModel({ extends: 'b2b-three-tier' });
    expect(three.scoringTypes[0].tiers.map((t) => t.id)).toEqual(['cold', 'warm', 'hot']);
    expect(resolveModel({ extends: 'b2b-default', timeZone: 'Europe/Berlin' }).timeZone).toBe('Europe/Berlin');
    expect(() => resolveModel({ extends: 'b2b-fancy' })).toThrow(/"b2b-fancy" is not a shipped model \(b2b-default, b2b-three-tier\)/);
  });

  it('site configuration mistakes are reported with where they are', () => {
    const problems = validateSite({ origin: 'ftp://x', content: { hero: { scorching: '<b>x</b>' } }, treatments: { hot: {} } }, ['cold', 'hot']);
    expect(problems.map((p) => p.path)).toEqual(['origin', 'content.hero.scorching', 'treatments.hot']);
  });
});

describe('/ll.js', () => {
  it('is served briefly cached at /ll.js, and forever under its version', async () => {
    const res = await call('/ll.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/javascript/);
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=300, stale-while-revalidate=86400');
    expect(res.headers.get('ETag')).toBe(`"${SDK_HASH}"`);
    const body = await res.text();
    expect(body).toContain('leadlevel');
    expect((await call('/ll.js', { headers: { 'If-None-Match': `"${SDK_HASH}"` } })).status).toBe(304);
    const pinned = await call(`/ll.${SDK_HASH}.js`);
    expect(pinned.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(await pinned.text()).toBe(body);
    expect((await call('/ll.0123456789.js')).status).toBe(404);
  });
});

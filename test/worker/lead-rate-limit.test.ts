/** The per-visitor rate limit is stored, so evicting the object does not reset a flood's allowance. */
import { describe, expect, it } from 'vitest';
import { browserBatch, readLead, restart, uid } from './helpers.js';

describe('visitor rate limit', () => {
  it('holds across an eviction of the lead object, and a refused batch stores nothing', async () => {
    const anon = uid('a');
    const page = () => ({ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/' } });
    // VISITOR_EVENTS_PER_MINUTE is 120 in the tests.
    expect((await browserBatch(Array.from({ length: 100 }, page))).status).toBe(200);
    await restart(`a:${anon}`);
    const refused = await browserBatch(Array.from({ length: 30 }, page));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await (await readLead(anon)).json<any>()).events).toBe(100);
  });
});

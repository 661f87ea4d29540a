/** Every error path: a clear 4xx JSON error naming the problem, nothing stored, never a 5xx. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOCAL_PAGE, SECRET, browserBatch, call, readLead, serverBatch, uid } from './helpers.js';

async function expectError(res: Response, status: number, error: string, message?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('Content-Type')).toMatch(/application\/json/);
  const body = await res.json<any>();
  expect(body.error).toBe(error);
  if (message) expect(body.message).toMatch(message);
  return body;
}

describe('400: malformed input, with the validator’s path-and-reason list, and nothing stored', () => {
  it('names every bad field', async () => {
    const user = uid('u');
    // A batch of nothing but bad messages: 400 (a batch with a good one stores it: segment-api.test.ts).
    const res = await serverBatch([
      { type: 'track', userId: user, timestamp: 'yesterday', event: 'Webinar Attended' },
      { type: 'track', userId: user },
    ]);
    const body = await expectError(res, 400, 'invalid_request', /batch\[0\]\.timestamp: not an ISO-8601 date/);
    expect(body.problems).toEqual([
      { path: 'batch[0].timestamp', reason: 'not an ISO-8601 date (got "yesterday")' },
      { path: 'batch[1].event', reason: 'a track call needs the event name' },
    ]);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([0, 1]);
    expect((await readLead(user)).status).toBe(404);
  });

  it('bodies that are not JSON, empty, or of an unknown encoding', async () => {
    await expectError(await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET }, body: '{"batch": [' }), 400, 'invalid_json', /not JSON/);
    await expectError(await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET }, body: '' }), 400, 'invalid_body', /empty/);
    await expectError(await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET, 'Content-Encoding': 'br' }, body: 'x' }), 415, 'unsupported_encoding');
    await expectError(await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET, 'Content-Encoding': 'gzip' }, body: 'not gzip' }), 400, 'invalid_body');
    await expectError(await call('/v1/track', { method: 'POST', headers: { Authorization: SECRET }, json: { type: 'page', userId: 'x' } }), 400, 'invalid_request', /"page" sent to \/v1\/track/);
    // Found by the fuzz test: a type that is an object with an unusable toString.
    await expectError(await call('/v1/page', { method: 'POST', headers: { Authorization: SECRET }, json: { type: { toString: 1 }, userId: 'x' } }), 400, 'invalid_request', /sent to \/v1\/page/);
  });

  it('bad reads', async () => {
    const user = uid('u');
    await serverBatch([{ type: 'page', userId: user, properties: { path: '/' } }]);
    await expectError(await call(`/v1/leads/${user}/events?limit=0`, { headers: { Authorization: SECRET } }), 400, 'invalid_limit');
    await expectError(await call(`/v1/leads/${user}/events?cursor=nope`, { headers: { Authorization: SECRET } }), 400, 'invalid_cursor');
    await expectError(await call(`/v1/leads/${'x'.repeat(300)}`, { headers: { Authorization: SECRET } }), 400, 'invalid_id');
  });
});

describe('401 and 403: keys and origins', () => {
  const page = () => [{ type: 'page', anonymousId: uid('a'), properties: { path: '/' } }];
  it('no key, an unknown key, a broken Authorization header', async () => {
    await expectError(await call('/v1/batch', { method: 'POST', json: { batch: page() } }), 401, 'missing_key');
    await expectError(await call('/v1/batch', { method: 'POST', headers: { Authorization: 'Basic ' + btoa('sk_nope:') }, json: { batch: page() } }), 401, 'unknown_key');
    await expectError(await call('/v1/batch', { method: 'POST', headers: { Authorization: 'Basic %%%' }, json: { batch: page() } }), 401, 'invalid_authorization');
    await expectError(await call('/v1/leads/x'), 401, 'missing_key');
  });

  it('a site key from a foreign origin, or with no origin at all', async () => {
    await expectError(await browserBatch(page(), 'https://evil.example'), 403, 'origin_not_allowed', /https:\/\/evil\.example/);
    const noOrigin = await call('/v1/batch', { method: 'POST', body: JSON.stringify({ writeKey: 'pk_demo', batch: page() }) });
    await expectError(noOrigin, 403, 'origin_not_allowed');
    // Referer stands in for Origin.
    const viaReferer = await call('/v1/batch', { method: 'POST', headers: { Referer: 'http://127.0.0.1:8787/pricing' }, body: JSON.stringify({ writeKey: 'pk_demo', batch: page() }) });
    expect(viaReferer.status).toBe(200);
  });

  it('a site key may not send server-side events nor read a lead', async () => {
    const anon = uid('a');
    const res = await browserBatch([{ type: 'track', anonymousId: anon, event: 'Deal Won' }]);
    await expectError(res, 403, 'secret_key_required', /batch\[0\]\.event: "Deal Won" is a server-side event/);
    await browserBatch([{ type: 'page', anonymousId: anon, properties: { path: '/' } }]);
    const read = await call(`/v1/leads/${anon}`, { headers: { Authorization: 'Basic ' + btoa('pk_demo:'), Origin: LOCAL_PAGE } });
    await expectError(read, 403, 'secret_key_required');
  });

  it('a site key reads only its own visitor’s level', async () => {
    const anon = uid('a');
    await browserBatch([{ type: 'track', anonymousId: anon, event: 'Form Submitted', properties: { kind: 'contact_sales' } }]);
    const mine = await call(`/v1/level?anonymousId=${anon}&writeKey=pk_demo`, { headers: { Origin: LOCAL_PAGE } });
    const body = await mine.json<any>();
    expect(body).toMatchObject({ known: true, level: 'very_hot', levelName: 'Very Hot' });
    expect(body.content['hero-cta']).toMatch(/account executive will call within 4 hours/);
    // Scores stay private: no demo explanation unless asked, in demo mode.
    expect(body.leadScore).toBeUndefined();
    const stranger = await call(`/v1/level?anonymousId=${uid('a')}&writeKey=pk_demo`, { headers: { Origin: LOCAL_PAGE } });
    expect(await stranger.json()).toMatchObject({ known: false, level: 'cold', levelName: 'Cold' });
  });
});

describe('503: a deployed Worker refuses the local default keys', () => {
  it('answers every API call with what to configure, until real keys are set', async () => {
    const { default: app } = await import('../../worker/index.js');
    const { env } = await import('cloudflare:workers');
    const { createExecutionContext } = await import('cloudflare:test');
    const send = (e: object) => app.fetch(new Request('http://collector.test/v1/leads/x', { headers: { Authorization: SECRET } }), { ...env, ...e } as never, createExecutionContext());
    await expectError(await send({ ENVIRONMENT: 'production' }), 503, 'not_configured', /SITE_KEYS: is not set/);
    const secret = 'sk_live_' + '7f'.repeat(16);
    await expectError(await send({ ENVIRONMENT: 'production', SECRET_KEYS: secret, SITE_KEYS: '{"pk_demo": {"origins": ["https://www.example.com"]}}' }), 503, 'not_configured', /the local default key/);
    const configured = { ENVIRONMENT: 'production', SECRET_KEYS: secret, SITE_KEYS: `{"pk_live_${'2c'.repeat(16)}": {"origins": ["https://www.example.com"]}}` };
    // Configured: the defaults are gone and the real keys work.
    await expectError(await send(configured), 401, 'unknown_key');
    const res = await app.fetch(new Request('http://collector.test/v1/leads/nobody', { headers: { Authorization: `Bearer ${secret}` } }), { ...env, ...configured } as never, createExecutionContext());
    await expectError(res, 404, 'lead_not_found');
  });
});

describe('413, 404, 429', () => {
  it('over Segment’s limits: 32 KB a message, 500 KB a request', async () => {
    const big = { type: 'track', userId: uid('u'), event: 'Webinar Attended', properties: { notes: 'x'.repeat(33 * 1024) } };
    const body = await expectError(await serverBatch([big]), 413, 'payload_too_large', /batch\[0\]: message is \d+ bytes; the limit is 32 KB per message/);
    expect(body.problems[0].path).toBe('batch[0]');
    const huge = JSON.stringify({ batch: [{ type: 'page', userId: 'u', properties: { blob: 'y'.repeat(600 * 1024) } }] });
    await expectError(await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET }, body: huge }), 413, 'payload_too_large', /500 KB/);
  });

  it('an unknown lead', async () => {
    await expectError(await readLead(uid('nobody')), 404, 'lead_not_found');
    await expectError(await call(`/v1/leads/${uid('nobody')}/events`, { headers: { Authorization: SECRET } }), 404, 'lead_not_found');
    await expectError(await call('/v1/nothing'), 404, 'not_found');
  });

  it('a visitor flooding gets 429 with Retry-After, and the flood is not stored', async () => {
    const anon = uid('a');
    const batch = (n: number) => Array.from({ length: n }, () => ({ type: 'page', anonymousId: anon, messageId: uid(), properties: { path: '/' } }));
    expect((await browserBatch(batch(100))).status).toBe(200);
    const res = await browserBatch(batch(50));
    const body = await expectError(res, 429, 'rate_limited');
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
    // Readable by the page's script, across origins.
    expect(res.headers.get('Access-Control-Expose-Headers')).toMatch(/Retry-After/);
    expect(body.retryAfter).toBe(Number(res.headers.get('Retry-After')));
    const events = await (await call(`/v1/leads/${anon}/events?limit=500`, { headers: { Authorization: SECRET } })).json<any>();
    expect(events.events).toHaveLength(100);
  });
});

describe('no input causes a 5xx', () => {
  it('random bodies, paths and headers', async () => {
    // Plus values that break naive string conversion (found once: { toString: 1 } as a type).
    const json = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom({ toString: 1 }, { valueOf: {} }, { __proto__: 1 }, [[]], { length: -1 }, '\u0000', '𝒜'.repeat(60)));
    const message = fc.record(
      { type: fc.oneof(fc.constantFrom('track', 'page', 'identify', 'alias'), json), userId: fc.oneof(fc.string(), json), anonymousId: fc.string(), messageId: fc.oneof(fc.string(), json), event: fc.oneof(fc.constantFrom('Form Submitted', 'Page Engaged', 'Email Bounced'), fc.string()), timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()), properties: fc.oneof(json, fc.dictionary(fc.constantFrom('kind', 'path', 'seconds', 'type', 'email'), json)), traits: json, context: json },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.record({ batch: fc.array(message, { maxLength: 4 }), sentAt: fc.oneof(fc.string(), json) }, { requiredKeys: [] }), json, message),
        fc.constantFrom('/v1/batch', '/v1/track', '/v1/page', '/v1/identify'),
        fc.constantFrom(SECRET, 'Basic ' + btoa('pk_demo:'), 'Bearer ', 'Basic', 'Digest x'),
        async (body, path, auth) => {
          const res = await call(path, { method: 'POST', headers: { Authorization: auth, Origin: LOCAL_PAGE }, body: JSON.stringify(body) });
          expect(res.status, await res.clone().text()).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  /** A normal request right after each hostile one: the collector still serves. */
  async function normalRequestWorks() {
    const res = await serverBatch([{ type: 'page', userId: uid('u'), messageId: uid('m'), properties: { path: '/' } }]);
    expect(res.status, await res.clone().text()).toBe(200);
  }

  it('deep nesting anywhere in a message or the body, as text (no recursion to build it), then a normal request', async () => {
    const level = fc.record({ array: fc.boolean(), key: fc.constantFrom('a', 'path', '__proto__', 'toString', '') });
    await fc.assert(
      fc.asyncProperty(
        fc.array(level, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 20, max: 20_000 }),
        fc.constantFrom('properties', 'traits', 'context', 'integrations', 'body'),
        fc.constantFrom('/v1/batch', '/v1/track', '/v1/identify'),
        fc.constantFrom(SECRET, 'Basic ' + btoa('pk_demo:')),
        async (pattern, depth, where, path, auth) => {
          let open = '';
          let close = '';
          for (let i = 0; i < depth; i++) {
            const { array, key } = pattern[i % pattern.length];
            open += array ? '[' : `{${JSON.stringify(key)}:`;
            close = (array ? ']' : '}') + close;
          }
          const deep = `${open}1${close}`;
          const fields = `"anonymousId":"${uid('a')}","event":"Webinar Signup","properties":{"path":"/"}`;
          // A single call takes its type from the URL.
          const type = path === '/v1/batch' ? `"type":"${where === 'body' ? 'page' : 'track'}",` : '';
          const message = where === 'body' ? `{${type}${fields}}` : `{${type}${fields.replace('"properties":{"path":"/"}', `"${where}":{"x":${deep}}`)}}`;
          const body = path !== '/v1/batch' ? message : where === 'body' ? `{"batch":[${message}],"context":${deep}}` : `{"batch":[${message}]}`;
          const res = await call(path, { method: 'POST', headers: { Authorization: auth, Origin: LOCAL_PAGE }, body });
          const text = await res.text();
          expect(res.status, text.slice(0, 300)).toBeLessThan(500);
          // Deeper than the limit wherever it is: refused, and the problem says so.
          if (depth > 40 && !(where === 'body' && path !== '/v1/batch')) expect(text, text.slice(0, 300)).toMatch(/nested more than 32 levels/);
          await normalRequestWorks();
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it('bodies around and over 500 KB, plain or gzip, declared or not, then a normal request', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 490 * 1024, max: 2600 * 1024 }), fc.boolean(), fc.boolean(), async (size, zipped, streamed) => {
        const text = JSON.stringify({ batch: [{ type: 'page', userId: uid('u'), properties: { path: '/', blob: 'y'.repeat(size) } }] });
        let bytes: Uint8Array = new TextEncoder().encode(text);
        if (zipped) bytes = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
        // Streamed: no Content-Length, so only the running count can refuse it.
        const body = streamed ? new Blob([bytes]).stream() : bytes;
        const res = await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET, ...(zipped ? { 'Content-Encoding': 'gzip' } : {}) }, body });
        const answer = await res.text();
        // Every message here is also over 32 KB: refused either way, naming the limit it broke.
        expect(res.status, answer.slice(0, 300)).toBe(413);
        const refusal = JSON.parse(answer);
        expect(refusal.error).toBe('payload_too_large');
        expect(refusal.message).toMatch(text.length > 500 * 1024 ? /500 KB/ : /32 KB per message/);
        await normalRequestWorks();
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});

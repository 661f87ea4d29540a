/**
 * Hostile bodies: each attack gets a 4xx JSON error naming the problem and changes nothing, and a normal request
 * right after it succeeds. (Over-limit bodies and the connection after them are tested over HTTP: test/e2e.)
 */
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { DAY, LOCAL_PAGE, SECRET, browserBatch, call, env, iso, readLead, serverBatch, uid } from './helpers.js';

async function expectError(res: Response, status: number, error: string, message?: RegExp) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('Content-Type')).toMatch(/application\/json/);
  const body = JSON.parse(text);
  expect(body.error).toBe(error);
  if (message) expect(body.message).toMatch(message);
  return body;
}

/** A normal request right after an attack: the collector and the lead still work. */
async function control(user = uid('u')) {
  const res = await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended' }]);
  expect(res.status, await res.clone().text()).toBe(200);
  expect((await res.json<any>()).accepted).toBe(1);
  expect((await readLead(user)).status).toBe(200);
}

/** `n` objects nested in one another: {"a":{"a":…{}}}. */
function nest(n: number): Record<string, unknown> {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < n; i++) v = { a: v };
  return v;
}

const gzip = async (text: string | Uint8Array, format: 'gzip' | 'deflate' = 'gzip') =>
  new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream(format))).arrayBuffer());

describe('nesting deeper than 32 levels is refused before it reaches the lead', () => {
  it('2,500 levels of properties (15 KB, under the message limit): 400 naming the path, no lead', async () => {
    const user = uid('u');
    const res = await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended', properties: nest(2500) }]);
    const body = await expectError(res, 400, 'invalid_request', /nested more than 32 levels/);
    // The message is level 1 and properties level 2: the first object past the limit is 31 levels below properties.
    expect(body.problems).toEqual([{ path: 'batch[0].properties' + '.a'.repeat(31), reason: 'nested more than 32 levels deep; flatten the value' }]);
    expect((await readLead(user)).status).toBe(404);
    await control(user);
  });

  it('exactly 32 levels is a message like any other', async () => {
    const user = uid('u');
    const res = await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended', properties: nest(31) }]);
    expect(res.status, await res.clone().text()).toBe(200);
    const one = await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended', properties: nest(32) }]);
    await expectError(one, 400, 'invalid_request', /batch\[0\]\.properties(\.a){31}: nested more than 32 levels/);
  });

  it('100,000 nested arrays (1 byte a level, inside 500 KB) in a browser batch: refused, not a stack overflow', async () => {
    const anon = uid('a');
    const text = `{"writeKey":"pk_demo","batch":[{"type":"page","anonymousId":"${anon}","properties":{"path":"/","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}]}`;
    const res = await call('/v1/batch', { method: 'POST', headers: { Origin: LOCAL_PAGE, 'Content-Type': 'text/plain' }, body: text });
    const body = await expectError(res, 400, 'invalid_request');
    expect(body.problems[0].path).toBe('batch[0].properties.x' + '[0]'.repeat(30));
    expect((await call(`/v1/leads/${anon}`, { headers: { Authorization: SECRET } })).status).toBe(404);
    expect((await browserBatch([{ type: 'page', anonymousId: anon, properties: { path: '/' } }])).status).toBe(200);
  });

  it('anywhere: traits, context, a single call, the batch’s own context', async () => {
    const user = uid('u');
    const deep = nest(3000);
    const single = await call('/v1/identify', { method: 'POST', headers: { Authorization: SECRET }, json: { userId: user, traits: deep } });
    expect((await expectError(single, 400, 'invalid_request')).problems[0].path).toBe('body.traits' + '.a'.repeat(31));
    // context.page is copied into a page view's properties: it must not carry depth past the check either.
    const page = await serverBatch([{ type: 'page', userId: user, context: { page: { path: deep } } }]);
    expect((await expectError(page, 400, 'invalid_request')).problems[0].path).toBe('batch[0].context.page.path' + '.a'.repeat(29));
    const batchContext = await serverBatch([{ type: 'page', userId: user, properties: { path: '/' } }], { context: deep });
    expect((await expectError(batchContext, 400, 'invalid_request')).problems[0].path).toBe('context' + '.a'.repeat(31));
    expect((await readLead(user)).status).toBe(404);
    await control(user);
  });
});

describe('framing errors answer JSON 4xx', () => {
  const post = (body: BodyInit, headers: Record<string, string> = {}) => call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET, 'Content-Type': 'application/json', ...headers }, body });
  const valid = (user: string) => JSON.stringify({ batch: [{ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended' }] });

  it('invalid UTF-8 is refused, not stored with replacement characters', async () => {
    const user = uid('u');
    const bytes = new TextEncoder().encode(valid(user).replace(user, `${user}-\u0000`));
    bytes[bytes.indexOf(0)] = 0xff; // a byte that is never UTF-8
    await expectError(await post(bytes), 400, 'invalid_body', /not UTF-8/);
    await expectError(await post(await gzip(bytes), { 'Content-Encoding': 'gzip' }), 400, 'invalid_body', /not UTF-8 text once decompressed \(gzip\)/);
    expect((await readLead(`${user}-\ufffd`)).status).toBe(404);
    await control(user);
  });

  it('truncated or corrupt gzip, a deflate header on gzip, gzip sent as plain', async () => {
    const user = uid('u');
    const zipped = await gzip(valid(user));
    await expectError(await post(zipped.subarray(0, zipped.length - 12), { 'Content-Encoding': 'gzip' }), 400, 'invalid_body', /as gzip/);
    const corrupt = zipped.slice();
    corrupt.fill(0x55, 10, 20);
    await expectError(await post(corrupt, { 'Content-Encoding': 'gzip' }), 400, 'invalid_body', /as gzip/);
    await expectError(await post(zipped, { 'Content-Encoding': 'deflate' }), 400, 'invalid_body', /as deflate/);
    await expectError(await post(zipped), 400, 'invalid_body', /not UTF-8/);
    expect((await readLead(user)).status).toBe(404);
    // The same bytes, correctly labelled, and deflate itself.
    expect((await post(zipped, { 'Content-Encoding': 'gzip' })).status).toBe(200);
    expect((await post(await gzip(valid(user), 'deflate'), { 'Content-Encoding': 'deflate' })).status).toBe(200);
  });

  it('a body that breaks off mid-stream', async () => {
    const user = uid('u');
    const text = new TextEncoder().encode(valid(user));
    const broken = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(text.subarray(0, 20));
        c.error(new Error('connection reset'));
      },
    });
    // Straight to the app: across workerd's fetch boundary a broken stream arrives as a short body instead.
    const { default: app } = await import('../../worker/index.js');
    const req = new Request('http://collector.test/v1/batch', { method: 'POST', headers: { Authorization: SECRET }, body: broken });
    await expectError(await app.fetch(req, env, createExecutionContext()), 400, 'invalid_body', /could not be read: connection reset/);
    expect((await readLead(user)).status).toBe(404);
    await control(user);
  });

  it('encodings other than gzip, deflate and identity: 415', async () => {
    for (const enc of ['br', 'gzip, gzip', 'compress', 'x'.repeat(500)]) {
      const body = await expectError(await post(valid(uid('u')), { 'Content-Encoding': enc }), 415, 'unsupported_encoding');
      expect(body.message.length).toBeLessThan(200);
    }
    expect((await post(valid(uid('u')), { 'Content-Encoding': 'identity' })).status).toBe(200);
    expect((await post(valid(uid('u')), { 'Content-Encoding': ' GZIP ' })).status).toBe(400); // labelled gzip, sent plain
    await control();
  });
});

describe('timestamps outside 2000-01-01 … a day from now, or impossible, are refused and named', () => {
  const at = (user: string, fields: Record<string, unknown>) => ({ type: 'track', userId: user, messageId: uid('m'), event: 'Webinar Attended', ...fields });

  it('impossible dates V8 would roll over: February 30th, April 31st, 24:00', async () => {
    const user = uid('u');
    const res = await serverBatch([at(user, { timestamp: '2026-02-30T10:00:00Z' }), at(user, { originalTimestamp: '2026-04-31' }), at(user, { sentAt: '2026-03-01T24:00:00Z' })]);
    const body = await expectError(res, 400, 'invalid_request');
    expect(body.problems).toEqual([
      { path: 'batch[0].timestamp', reason: 'not an ISO-8601 date (got "2026-02-30T10:00:00Z")' },
      { path: 'batch[1].originalTimestamp', reason: 'not an ISO-8601 date (got "2026-04-31")' },
      { path: 'batch[2].sentAt', reason: 'not an ISO-8601 date (got "2026-03-01T24:00:00Z")' },
    ]);
    expect((await readLead(user)).status).toBe(404);
    await control(user);
  });

  it('before 2000 or more than a day ahead, from either key; the batch’s sentAt too', async () => {
    const user = uid('u');
    const res = await serverBatch([at(user, { timestamp: '1970-01-01T00:00:00Z' }), at(user, { timestamp: iso(Date.now() + 2 * DAY) }), at(user, { sentAt: '0202-06-01T00:00:00Z' })], { sentAt: '1999-12-31T23:59:59Z' });
    const body = await expectError(res, 400, 'invalid_request', /outside 2000-01-01/);
    expect(body.problems.map((p: { path: string }) => p.path)).toEqual(['batch[0].timestamp', 'batch[1].timestamp', 'batch[2].sentAt', 'body.sentAt']);
    const anon = uid('a');
    const browser = await browserBatch([{ type: 'page', anonymousId: anon, timestamp: iso(Date.now() + 3 * DAY), properties: { path: '/' } }]);
    expect((await expectError(browser, 400, 'invalid_request')).problems[0].path).toBe('batch[0].timestamp');
    const single = await call('/v1/track', { method: 'POST', headers: { Authorization: SECRET }, json: at(user, { timestamp: '1999-01-01' }) });
    expect((await expectError(single, 400, 'invalid_request')).problems[0].path).toBe('body.timestamp');
    expect((await readLead(user)).status).toBe(404);
    expect((await call(`/v1/leads/${anon}`, { headers: { Authorization: SECRET } })).status).toBe(404);
    await control(user);
  });

  it('within range nothing changes: hours ahead is scored at receipt, a site key’s old event is clamped to 7 days', async () => {
    const anon = uid('a');
    const res = await browserBatch([
      { type: 'page', anonymousId: anon, messageId: uid('m'), timestamp: iso(Date.now() + 12 * 3600_000), properties: { path: '/pricing' } },
      { type: 'page', anonymousId: anon, messageId: uid('m'), timestamp: iso(Date.now() - 10 * DAY), properties: { path: '/' } },
    ]);
    expect(res.status, await res.clone().text()).toBe(200);
    const { events } = await (await call(`/v1/leads/${anon}/events`, { headers: { Authorization: SECRET } })).json<any>();
    expect(events.map((e: { timeNote?: string }) => e.timeNote)).toEqual([expect.stringMatching(/in the future; scored at receipt/), expect.stringMatching(/older than 7 days/)]);
  });
});

/**
 * Refused bodies over real HTTP, where the connection matters: a body refused half-read used to leave the server
 * answering the next request with a 503 ("Your worker restarted mid-request"). Each refusal here is followed by
 * normal requests that must succeed.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, inject, it } from 'vitest';

const collector = inject('collector');
const auth = 'Basic ' + Buffer.from('sk_dev:').toString('base64');
let n = 0;

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  fetch(`${collector}/v1/batch`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(20_000) });

async function expectNormalRequestsWork() {
  for (let i = 0; i < 2; i++) {
    const userId = `limits-${Date.now()}-${++n}`;
    const res = await post(JSON.stringify({ batch: [{ type: 'track', userId, messageId: `m-${userId}`, event: 'Webinar Attended' }] }));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
  }
}

async function expectJsonError(res: Response, status: number, error: string) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('Content-Type')).toMatch(/application\/json/);
  expect(JSON.parse(text).error).toBe(error);
}

const batchOf = (bytes: number) => JSON.stringify({ batch: [{ type: 'page', userId: 'big', properties: { blob: 'y'.repeat(bytes) } }] });

describe('over-limit and broken bodies leave the server healthy', () => {
  it('a body just over 500 KB: 413, and the next requests succeed', async () => {
    for (let i = 0; i < 3; i++) {
      await expectJsonError(await post(batchOf(510 * 1024)), 413, 'payload_too_large');
      await expectNormalRequestsWork();
    }
  });

  it('the same without Content-Length (chunked), and far over it with Content-Length', async () => {
    const bytes = new TextEncoder().encode(batchOf(900 * 1024));
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 16_384) c.enqueue(bytes.subarray(i, i + 16_384));
        c.close();
      },
    });
    await expectJsonError(await fetch(`${collector}/v1/batch`, { method: 'POST', headers: { Authorization: auth }, body: chunked, duplex: 'half' } as RequestInit), 413, 'payload_too_large');
    await expectNormalRequestsWork();
    await expectJsonError(await post(batchOf(3 * 1024 * 1024)), 413, 'payload_too_large');
    await expectNormalRequestsWork();
  });

  it('a gzip bomb (3 MB inflated), and 300 KB of random bytes labelled gzip', async () => {
    await expectJsonError(await post(gzipSync(batchOf(3 * 1024 * 1024)), { 'Content-Encoding': 'gzip' }), 413, 'payload_too_large');
    await expectNormalRequestsWork();
    await expectJsonError(await post(randomBytes(300 * 1024), { 'Content-Encoding': 'gzip' }), 400, 'invalid_body');
    await expectNormalRequestsWork();
  });
});

/**
 * Request bodies: read with Segment's size limit enforced while streaming, gzip accepted, JSON or text/plain.
 *
 * A body refused after reading part of it is read to its end and dropped, never cancelled: cancelling a request
 * body half-read leaves the connection in a state workerd cannot reuse, and under `wrangler dev` the next request
 * on the server got a 503 ("Your worker restarted mid-request"). A body refused before any of it is read needs
 * nothing (workerd discards it). Draining ends: Cloudflare caps request bodies (100 MB on most plans), and it is the
 * compressed bytes that are drained, so a gzip bomb is not inflated to be thrown away.
 */
import { SEGMENT_MAX_BATCH_BYTES } from '../shared/limits.js';
import { HTTPException } from 'hono/http-exception';
import { fail } from './errors.js';

/** Reads a stream whole, refusing it as soon as it is over `limit` bytes. */
async function readLimited(stream: ReadableStream<Uint8Array>, limit: number, limitText: string): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        fail(413, 'payload_too_large', `request body is over ${limit / 1024} KB; ${limitText}`, { limit });
      }
      chunks.push(value);
    }
  } finally {
    reader.cancel().catch(() => {}); // our own stream (below), never the request's
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) out.set(c, o), (o += c.byteLength);
  return out;
}

/**
 * The request body as read: the raw bytes pass through a stream we own (a decompressor, or nothing), fed by hand
 * rather than by pipeTo, so that when reading stops early (over the limit, not gzip) the feeder goes on reading the
 * request body to its end and drops it. (pipeTo with preventCancel still left the connection unusable in workerd.)
 */
function feed(raw: ReadableStream<Uint8Array>, encoding: string | undefined): { stream: ReadableStream<Uint8Array>; stop(): Promise<void> } {
  const pass = encoding === 'gzip' || encoding === 'deflate' ? new DecompressionStream(encoding) : new TransformStream<Uint8Array, Uint8Array>();
  const writer = pass.writable.getWriter();
  const source = raw.getReader();
  let stopped = false;
  const feeding = (async () => {
    for (;;) {
      const { done, value } = await source.read();
      if (done) break;
      if (!stopped) await writer.write(value).catch(() => (stopped = true)); // a decompression error: drain the rest
    }
    if (!stopped) await writer.close().catch(() => {});
  })().catch((err: unknown) => {
    // The client went away (a truncated body): nothing left to drain; the reader hears why.
    writer.abort(err).catch(() => {});
  });
  return {
    stream: pass.readable as ReadableStream<Uint8Array>,
    async stop() {
      stopped = true;
      writer.abort().catch(() => {}); // unblocks a write waiting for the reader we no longer have
      await feeding;
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

const SEGMENT_LIMITS = 'the limit is 500 KB per batch (and 32 KB per message)';

/**
 * The body as UTF-8 text, exactly as sent (after decompression): what a webhook signature is computed over.
 * `limitText` says the limit to a client refused for size.
 */
export async function readText(req: Request, limit = SEGMENT_MAX_BATCH_BYTES, limitText = SEGMENT_LIMITS): Promise<{ text: string; bytes: number }> {
  const declared = Number(req.headers.get('Content-Length') ?? '0');
  if (declared > limit * 4) fail(413, 'payload_too_large', `request body is ${declared} bytes; ${limitText}`, { limit });
  const encoding = req.headers.get('Content-Encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
    fail(415, 'unsupported_encoding', `Content-Encoding "${encoding.slice(0, 40)}" is not supported; send gzip or no encoding`);
  }
  let bytes: Uint8Array = new Uint8Array();
  const plain = !encoding || encoding === 'identity';
  if (req.body && plain && declared > 0 && declared <= limit) {
    // A plain body of a declared length within the limit cannot grow past it (HTTP framing), so it is read
    // whole: streaming it through the limiter below cost more CPU than the rest of the Worker's side of a batch.
    try {
      bytes = new Uint8Array(await req.arrayBuffer());
    } catch (err) {
      fail(400, 'invalid_body', `the body could not be read: ${(err as Error)?.message ?? String(err)}`);
    }
  } else if (req.body) {
    const body = feed(req.body, encoding);
    try {
      bytes = await readLimited(body.stream, limit, limitText);
    } catch (err) {
      await body.stop();
      if (err instanceof HTTPException) throw err;
      fail(400, 'invalid_body', `the body could not be read${encoding ? ` as ${encoding}` : ''}: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    // Replacing bad bytes with U+FFFD would store ids and names that are not what the client meant.
    fail(400, 'invalid_body', `the body is not UTF-8 text${encoding ? ` once decompressed (${encoding})` : ''}; send JSON in UTF-8`);
  }
  return { text, bytes: bytes.byteLength };
}

/** The parsed body and its size in bytes as received (after decompression). */
export async function readJson(req: Request, limit = SEGMENT_MAX_BATCH_BYTES): Promise<{ json: unknown; bytes: number }> {
  const { text, bytes } = await readText(req, limit);
  if (!text.trim()) fail(400, 'invalid_body', 'the body is empty; send a JSON object');
  return { json: parseJson(text), bytes };
}

/** An optional JSON body (an API call's options, say): undefined when it is empty, else parsed. */
export async function readOptionalJson(req: Request, limit: number, limitText: string): Promise<unknown> {
  const { text } = await readText(req, limit, limitText);
  return text.trim() ? parseJson(text) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(400, 'invalid_json', `the body is not JSON: ${(err as Error).message}`);
  }
}

/** Request bodies: read with Segment's size limit enforced while streaming, gzip accepted, JSON or text/plain. */
import { SEGMENT_MAX_BATCH_BYTES } from '../shared/limits.js';
import { HTTPException } from 'hono/http-exception';
import { fail } from './errors.js';

async function readLimited(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      fail(413, 'payload_too_large', `request body is over ${limit / 1024} KB; the limit is 500 KB per batch (and 32 KB per message)`, { limit });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) out.set(c, o), (o += c.byteLength);
  return out;
}

/** The parsed body and its size in bytes as received (after decompression). */
export async function readJson(req: Request, limit = SEGMENT_MAX_BATCH_BYTES): Promise<{ json: unknown; bytes: number }> {
  const declared = Number(req.headers.get('Content-Length') ?? '0');
  if (declared > limit * 4) fail(413, 'payload_too_large', `request body is ${declared} bytes; the limit is 500 KB per batch`, { limit });
  let body = req.body;
  const encoding = req.headers.get('Content-Encoding')?.toLowerCase();
  if (encoding === 'gzip' || encoding === 'deflate') {
    body = body?.pipeThrough(new DecompressionStream(encoding)) ?? null;
  } else if (encoding && encoding !== 'identity') {
    fail(415, 'unsupported_encoding', `Content-Encoding "${encoding}" is not supported; send gzip or no encoding`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readLimited(body, limit);
  } catch (err) {
    if (err instanceof HTTPException) throw err;
    fail(400, 'invalid_body', `the body could not be read${encoding ? ` as ${encoding}` : ''}: ${(err as Error).message}`);
  }
  const text = new TextDecoder().decode(bytes);
  if (!text.trim()) fail(400, 'invalid_body', 'the body is empty; send a JSON object');
  try {
    return { json: JSON.parse(text), bytes: bytes.byteLength };
  } catch (err) {
    fail(400, 'invalid_json', `the body is not JSON: ${(err as Error).message}`);
  }
}

import type { Problem } from '../shared/validate.js';

/**
 * A paged list's query parameters: each unknown or repeated one named in `problems`, and `one(name)` the value
 * given. `repeated`: what to say of a parameter given twice.
 */
export function listParams(queries: Record<string, string[]>, allowed: readonly string[], repeated = 'is given more than once') {
  const problems: Problem[] = [];
  for (const name of Object.keys(queries)) {
    if (!allowed.includes(name)) problems.push({ path: name, reason: `is not a parameter of this list (${allowed.join(', ')})` });
    else if (queries[name].length > 1) problems.push({ path: name, reason: repeated });
  }
  return { problems, one: (name: string): string | undefined => queries[name]?.[0] };
}

/** Cursors of the paged lists are opaque to callers: base64url of UTF-8 JSON (ids may be any text). */
export const toCursor = (value: unknown) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The JSON inside a cursor; throws when it is not one. */
export const fromCursor = (s: string): unknown =>
  JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0))));

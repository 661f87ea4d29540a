/** Cursors of the paged lists are opaque to callers: base64url of UTF-8 JSON (ids may be any text). */
export const toCursor = (value: unknown) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The JSON inside a cursor; throws when it is not one. */
export const fromCursor = (s: string): unknown =>
  JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0))));

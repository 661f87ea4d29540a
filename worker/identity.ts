/**
 * Which Durable Object holds a lead. Every id a lead is known by has an object of its own, named
 * `u:<userId>`, `e:<email>` or `a:<anonymousId>`; the lead lives in the most definite one (userId, else email,
 * else anonymousId) and the others forward to it once merged. No directory to consult on the hot path.
 */
import type { LeadEvent } from '../shared/events.js';
import { normalizeEmail, type NormalizedMessage } from '../shared/normalize.js';

export const userKey = (id: string) => (normalizeEmail(id) ? `e:${normalizeEmail(id)}` : `u:${id}`);
export const emailKey = (email: string) => `e:${email.toLowerCase()}`;
export const anonKey = (id: string) => `a:${id}`;

/** The keys a lead id given to the API may mean, most definite first. */
export function candidateKeys(id: string): string[] {
  const email = normalizeEmail(id);
  return email ? [emailKey(email)] : [`u:${id}`, anonKey(id)];
}

/** The public id of a lead stored under a key: its userId, else its email, else its anonymousId. */
export const idOfKey = (key: string) => key.slice(2);

export interface Delivery {
  target: string;
  /** Other ids this batch says belong to the target: merged into it. */
  aliases: string[];
  events: LeadEvent[];
}

/**
 * Groups a batch's messages by the lead they belong to, linking ids that appear together. With a site key
 * (`trusted` false) an email is never tied to a userId: a browser could otherwise claim anyone's email for a
 * userId of its choosing and take over that lead. The browser's own anonymous id links to either; the server
 * (secret key) ties emails to userIds.
 */
export function route(messages: NormalizedMessage[], trusted = true): Map<string, Delivery> {
  // Links first, so an anonymous page view in the same batch as the identify goes straight to the known lead.
  const linkedTo = new Map<string, string>();
  const primary = (m: NormalizedMessage) => (m.userId ? userKey(m.userId) : m.email ? emailKey(m.email) : anonKey(m.anonymousId!));
  for (const m of messages) {
    const target = primary(m);
    const email = m.email && (trusted || !m.userId) ? emailKey(m.email) : undefined;
    // An alias's previousId is whatever id the lead had: its anonymous lead, or (from a server) an earlier userId.
    const previous = m.previousId === undefined ? [] : trusted ? [anonKey(m.previousId), userKey(m.previousId)] : [anonKey(m.previousId)];
    const others = [m.anonymousId && anonKey(m.anonymousId), email, ...previous].filter((k): k is string => !!k && k !== target);
    for (const k of others) if (!linkedTo.has(k)) linkedTo.set(k, target);
  }
  // Follow a → e → u within the batch.
  const resolve = (k: string) => {
    for (let i = 0; i < 3 && linkedTo.has(k); i++) k = linkedTo.get(k)!;
    return k;
  };
  const out = new Map<string, Delivery>();
  for (const m of messages) {
    const target = resolve(primary(m));
    let d = out.get(target);
    if (!d) out.set(target, (d = { target, aliases: [], events: [] }));
    if (m.previousId === undefined) d.events.push(m.event); // an alias only links
  }
  for (const [alias, to] of linkedTo) {
    const d = out.get(resolve(to));
    if (d && alias !== d.target && !d.aliases.includes(alias)) d.aliases.push(alias);
  }
  return out;
}

/**
 * Delivering normalized messages to their leads, for every way events come in (Segment ingest, email-service
 * sources): grouped by lead, refused up front when one request would call more lead objects than the Worker's
 * subrequest budget allows, each lead's part sent to its object, and the answers tallied.
 */
import type { IngestInput, IngestResult } from '../shared/api.js';
import type { NormalizedMessage } from '../shared/normalize.js';
import type { Env } from './env.js';
import { fail } from './errors.js';
import { route, type Delivery } from './identity.js';
import { leadStub } from './lead/index.js';

/**
 * Leads one request may address: each is a call to its lead object, and a Worker request may make at most
 * 10,000 subrequests on the Workers Paid plan (50 on Free: set LEADS_PER_REQUEST=45 there).
 */
export const LEADS_PER_REQUEST = 1_000;

export type Stored = Extract<IngestResult, { ok: true }>;

/** Groups messages by lead (`trusted`: a secret key, which may tie emails to userIds) within the budget. */
export function plan(env: Env, normalized: NormalizedMessage[], trusted: boolean, what = 'this request'): Delivery[] {
  const deliveries = [...route(normalized, trusted).values()];
  const budget = Number(env.LEADS_PER_REQUEST) || LEADS_PER_REQUEST;
  if (deliveries.length > budget) {
    fail(413, 'too_many_leads', `${what} addresses ${deliveries.length} leads; at most ${budget} per request (each is a call to its lead): split it`, { leads: deliveries.length, limit: budget });
  }
  return deliveries;
}

/** Sends each lead its part. */
export const send = (env: Env, deliveries: Delivery[], common: Omit<IngestInput, 'key' | 'events' | 'aliases'>): Promise<IngestResult[]> =>
  Promise.all(deliveries.map((d) => leadStub(env, d.target).ingest({ ...common, key: d.target, events: d.events, aliases: d.aliases })));

/** The answers: a rate limit anywhere is the request's 429; events for erased leads are counted as dropped. */
export function tally(results: IngestResult[], who = 'this visitor') {
  const limited = results.filter((r): r is Extract<IngestResult, { refused: 'rate_limited' }> => !r.ok && r.refused === 'rate_limited');
  if (limited.length) {
    const retryAfter = Math.max(...limited.map((r) => r.retryAfter));
    fail(429, 'rate_limited', `too many events from ${who}; retry after ${retryAfter} s`, { retryAfter }, { 'Retry-After': String(retryAfter) });
  }
  const ok = results.filter((r): r is Stored => r.ok);
  const sum = (k: 'accepted' | 'duplicates' | 'archived') => ok.reduce((s, r) => s + r[k], 0);
  // Events for an erased lead's ids are dropped while its quarantine lasts.
  const erased = results.reduce((n, r) => n + (!r.ok && r.refused === 'erased' ? r.dropped : 0), 0);
  return { ok, accepted: sum('accepted'), duplicates: sum('duplicates'), archived: sum('archived'), erased };
}

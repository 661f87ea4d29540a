/**
 * Deliveries in D1: one row per notification to one destination (its status, attempts, the last answer and
 * the payload), written by the lead object at each attempt, so the deployment's deliveries are one query
 * (`GET /v1/deliveries`) instead of a walk over lead objects. And the destinations a 410 disabled.
 */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

export interface Delivery {
  id: string;
  leadKey: string;
  leadId: string;
  team: string;
  destination: number;
  destinationType: string;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  payload: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

interface Record_ {
  id: string;
  lead_key: string;
  lead_id: string;
  team: string;
  destination: number;
  destination_type: string;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  payload: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

const toDelivery = (r: Record_): Delivery => ({
  id: r.id,
  leadKey: r.lead_key,
  leadId: r.lead_id,
  team: r.team,
  destination: r.destination,
  destinationType: r.destination_type,
  event: r.event,
  status: r.status,
  attempts: r.attempts,
  lastStatus: r.last_status,
  lastError: r.last_error,
  payload: r.payload,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deliveredAt: r.delivered_at,
});

/** Writes a delivery's state as of an attempt (or before one): created on the first, updated after. */
export async function recordDelivery(db: D1Database, d: Delivery): Promise<void> {
  await deliveryStatement(db, d).run();
}

/** recordDelivery's statement, for a batch that writes it with something else. */
export function deliveryStatement(db: D1Database, d: Delivery): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO deliveries (id, lead_key, lead_id, team, destination, destination_type, event, status, attempts, last_status, last_error, payload, created_at, updated_at, delivered_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
       ON CONFLICT (id) DO UPDATE SET lead_key = excluded.lead_key, lead_id = excluded.lead_id, status = excluded.status, attempts = excluded.attempts,
         last_status = excluded.last_status, last_error = excluded.last_error, payload = excluded.payload, updated_at = excluded.updated_at,
         delivered_at = excluded.delivered_at`,
    )
    .bind(d.id, d.leadKey, d.leadId, d.team, d.destination, d.destinationType, d.event, d.status, d.attempts, d.lastStatus, d.lastError?.slice(0, 500) ?? null, d.payload, d.createdAt, d.updatedAt, d.deliveredAt);
}

export async function getDelivery(db: D1Database, id: string): Promise<Delivery | null> {
  const r = await db.prepare('SELECT * FROM deliveries WHERE id = ?1').bind(id).first<Record_>();
  return r ? toDelivery(r) : null;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  team?: string;
  /** The lead's public id and the keys of its objects. */
  lead?: { id: string; keys: string[] };
  limit: number;
  /** created_at and id of the last row of the previous page. */
  after?: [number, string];
}

/** Newest first, keyset-paged on (created_at, id): a page costs the same at the first row as at the millionth. */
export async function listDeliveries(db: D1Database, q: DeliveryQuery): Promise<{ rows: Delivery[]; after: [number, string] | null }> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.status) {
    where.push('status = ?');
    args.push(q.status);
  }
  if (q.team) {
    where.push('team = ?');
    args.push(q.team);
  }
  if (q.lead) {
    where.push(`(lead_id = ? OR lead_key IN (${q.lead.keys.map(() => '?').join(', ')}))`);
    args.push(q.lead.id, ...q.lead.keys);
  }
  if (q.after) {
    where.push('(created_at < ? OR (created_at = ? AND id < ?))');
    args.push(q.after[0], q.after[0], q.after[1]);
  }
  const { results } = await db
    .prepare(`SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`)
    .bind(...args, q.limit + 1)
    .all<Record_>();
  const page = results.slice(0, q.limit).map(toDelivery);
  const last = page[page.length - 1];
  return { rows: page, after: results.length > q.limit && last ? [last.createdAt, last.id] : null };
}

/** Erasure: every delivery of these keys goes, payload and all. */
export async function forgetDeliveries(db: D1Database, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 50) {
    const chunk = keys.slice(i, i + 50);
    await db.prepare(`DELETE FROM deliveries WHERE lead_key IN (${chunk.map(() => '?').join(', ')})`).bind(...chunk).run();
  }
}

export async function isDisabled(db: D1Database, team: string, destination: number, target: string): Promise<string | null> {
  const r = await db.prepare('SELECT reason FROM disabled_destinations WHERE team = ?1 AND destination = ?2 AND target = ?3').bind(team, destination, target).first<{ reason: string }>();
  return r?.reason ?? null;
}

export async function disable(db: D1Database, team: string, destination: number, target: string, reason: string, now: number): Promise<void> {
  await db
    .prepare('INSERT INTO disabled_destinations (team, destination, target, disabled_at, reason) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET disabled_at = excluded.disabled_at, reason = excluded.reason')
    .bind(team, destination, target, now, reason)
    .run();
}

/** A test send that got through enables a destination again. */
export async function enable(db: D1Database, team: string, destination: number, target: string): Promise<void> {
  await db.prepare('DELETE FROM disabled_destinations WHERE team = ?1 AND destination = ?2 AND target = ?3').bind(team, destination, target).run();
}

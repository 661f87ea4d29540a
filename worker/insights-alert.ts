/**
 * The engagement-index drop alert (README "Insights"): on the schedule (the Cron Trigger in wrangler.toml, the
 * `scheduled` handler in index.ts), the index overall and per group is compared with a week before; a fall by the
 * configured threshold or more tells the configured team, as `insights.engagement_index_dropped`, through the
 * notification deliveries every other notification goes through (recorded in D1, listed by GET /v1/deliveries).
 *
 * At most once per group and week: the alert's row (insight_alerts, keyed by group and week) and its pending
 * deliveries are written in one D1 batch, so a second run, or two at once, finds the row and writes nothing.
 * Pending deliveries are sent right after and by every later run until delivered, given up after a day of tries,
 * or disabled by a 410: at least once, with the same message id every time.
 */
import type { Env } from './env.js';
import { engagementIndex, type Grouping } from './insights.js';
import { activeModel } from './model.js';
import { deliveryStatement, disable, getDelivery, isDisabled, recordDelivery, type Delivery } from './notify/deliveries.js';
import { messageId, type IndexDropNews, type NotificationBody } from './notify/message.js';
import { send, targetOf } from './notify/send.js';
import { teamById, teamsConfig } from './notify/teams.js';
import { RETRY_SPAN_MS } from './lead/notify.js';
import { DAY_MS } from '../shared/limits.js';

/** The deliveries of insight alerts carry this in place of a lead's key. */
export const INSIGHTS_KEY = 'insights';
export const DROP_EVENT = 'insights.engagement_index_dropped';
const WEEK_MS = 7 * DAY_MS;
/** Groups smaller than this are noise unless the file says otherwise. */
const DEFAULT_MIN_LEADS = 20;
/** Groups checked per run (the largest first). */
const MAX_GROUPS = 100;

/** The UTC week (Monday 00:00) an instant is in, as its start time. */
export const weekOf = (t: number) => t - ((t - Date.UTC(1970, 0, 5)) % WEEK_MS + WEEK_MS) % WEEK_MS;

export interface DropCheck {
  /** The groups that fell beyond the threshold this run, newly alerted. */
  fired: string[];
  /** Those that fell but were alerted this week already. */
  already: string[];
}

/** Checks the index and queues an alert per group that fell; then sends what is pending. */
export async function checkEngagementDrop(env: Env, now = Date.now()): Promise<DropCheck> {
  const out: DropCheck = { fired: [], already: [] };
  let cfg;
  try {
    cfg = teamsConfig();
  } catch {
    return out; // a teams file the Worker refuses (503 config_invalid) alerts nobody
  }
  const alert = cfg.alerts?.engagementIndexDrop;
  const team = alert && teamById(alert.team, cfg);
  if (!alert || !team) return out;
  const by: Grouping = alert.by ?? 'source';
  const minLeads = alert.minLeads ?? DEFAULT_MIN_LEADS;
  const db = env.INDEX;
  const r = await engagementIndex(db, activeModel(), { from: now - WEEK_MS, to: now, interval: 'day' }, by, MAX_GROUPS);
  const week = weekOf(now);
  const candidates = [{ ...r.overall, group: 'all' }, ...r.groups];
  for (const g of candidates) {
    const { change, before } = g.weekOverWeek;
    if (change === null || before === null || g.index === null || g.leads < minLeads || change > -alert.threshold) continue;
    const news: IndexDropNews = { by, group: g.group, index: g.index, before, change, threshold: alert.threshold, leads: g.leads, engaged: g.engaged, url: insightsUrl(env, by) };
    const body: NotificationBody = {
      type: DROP_EVENT,
      timestamp: new Date(now).toISOString(),
      data: { lead: null, change: { kind: 'insights', scoringType: null, from: String(before), to: String(g.index), at: new Date(now).toISOString() }, reasons: [], treatment: null, team: { id: team.id, name: team.name }, insights: news },
    };
    const rows: Delivery[] = team.destinations.map((d, destination) => ({
      id: messageId(), leadKey: INSIGHTS_KEY, leadId: `${by}:${g.group}`, team: team.id, destination, destinationType: d.type, event: DROP_EVENT, status: 'pending', attempts: 0,
      lastStatus: null, lastError: null, payload: JSON.stringify(body), createdAt: now, updatedAt: now, deliveredAt: null,
    }));
    try {
      await db.batch([
        db.prepare('INSERT INTO insight_alerts (kind, grouping, grp, week, fired_at, before, now) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)').bind('engagement_index_drop', by, g.group, week, now, before, g.index),
        ...rows.map((d) => deliveryStatement(db, d)),
      ]);
      out.fired.push(g.group);
    } catch (err) {
      if (!/UNIQUE|PRIMARY KEY|constraint/i.test(String((err as Error)?.message))) throw err;
      out.already.push(g.group);
    }
  }
  await sendPendingAlerts(env);
  return out;
}

/** Sends every pending insight alert delivery once (each run tries again what is still pending). */
export async function sendPendingAlerts(env: Env): Promise<void> {
  const db = env.INDEX;
  const { results } = await db.prepare("SELECT id FROM deliveries WHERE lead_key = ?1 AND status = 'pending' ORDER BY created_at LIMIT 100").bind(INSIGHTS_KEY).all<{ id: string }>();
  await Promise.all(results.map(async ({ id }) => {
    const d = await getDelivery(db, id);
    if (d) await attempt(env, d);
  }));
}

/** One attempt at an insight alert's delivery, recorded. Also the retry route's (routes/notifications.ts). */
export async function attempt(env: Env, d: Delivery): Promise<void> {
  const db = env.INDEX;
  const now = Date.now();
  const dest = teamById(d.team)?.destinations[d.destination];
  const base = { ...d, attempts: d.attempts + 1, updatedAt: now };
  if (!dest || !d.payload) return recordDelivery(db, { ...base, status: 'failed', lastError: `team "${d.team}" has no destination ${d.destination} any more (leadlevel.teams.json changed)` });
  const disabled = await isDisabled(db, d.team, d.destination, targetOf(dest));
  if (disabled) return recordDelivery(db, { ...base, attempts: d.attempts, status: 'failed', lastError: `not sent: the destination is disabled (${disabled})` });
  const out = await send(dest, JSON.parse(d.payload) as NotificationBody, d.id, env);
  const after = { ...base, lastStatus: out.status, lastError: out.error };
  if (out.ok) return recordDelivery(db, { ...after, status: 'delivered', deliveredAt: now });
  if (out.gone) {
    await disable(db, d.team, d.destination, targetOf(dest), `answered 410 Gone at ${new Date(now).toISOString()}`, now);
    return recordDelivery(db, { ...after, status: 'failed', lastError: `${out.error}: the destination is disabled` });
  }
  return recordDelivery(db, { ...after, status: now - d.createdAt >= RETRY_SPAN_MS ? 'failed' : 'pending' });
}

function insightsUrl(env: Env, by: string): string | null {
  const base = env.PUBLIC_URL || (env.ENVIRONMENT === 'development' ? 'http://127.0.0.1:8787' : '');
  return base ? `${base.replace(/\/+$/, '')}/v1/insights/engagement-index?by=${by}` : null;
}

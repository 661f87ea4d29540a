/**
 * What a notification says, the same for every destination: the Standard Webhooks body `{ type, timestamp,
 * data }` (SPEC, "Notifications"). Webhooks get it as JSON; Slack and email render it (slack.ts, email.ts).
 * It is built when the change commits, so a retry a day later still tells what happened then.
 */
import type { Reason } from '../../shared/api.js';
import type { Treatment } from '../site.js';
import type { Fit } from './fit.js';

export type NotificationType = 'lead.level_changed' | 'lead.stage_changed' | 'lead.sla_breached' | 'insights.engagement_index_dropped' | 'test';

export interface NotifiedLead {
  id: string;
  email: string | null;
  level: string;
  levelName: string;
  stage: string | null;
  scores: { engagement: number; lead: number; momentum: number };
  fit: Fit | null;
  profileUrl: string | null;
}

export interface Change {
  kind: 'level' | 'stage' | 'sla' | 'insights' | 'test';
  scoringType: string | null;
  from: string | null;
  to: string | null;
  /** Display names of from and to, where they have one. */
  fromName?: string | null;
  toName?: string | null;
  at: string;
}

export interface NotificationBody {
  type: NotificationType;
  timestamp: string;
  data: {
    lead: NotifiedLead | null;
    change: Change;
    reasons: Reason[];
    treatment: Treatment | null;
    team: { id: string; name: string };
    /** `lead.sla_breached`: the SLA that was breached, and whose it was (`team` above is the one told). */
    sla?: SlaNews;
    /** `insights.engagement_index_dropped`: the group whose engagement index fell, and by how much. */
    insights?: IndexDropNews;
  };
}

export interface IndexDropNews {
  by: string;
  /** The group ("all": every lead). */
  group: string;
  /** The index now and a week before, and the change (negative: a fall). */
  index: number;
  before: number;
  change: number;
  threshold: number;
  leads: number;
  engaged: number;
  /** The insights query that shows it. */
  url: string | null;
}

export interface SlaNews {
  team: { id: string; name: string };
  level: string;
  levelName: string;
  startedAt: string;
  dueAt: string;
  state: 'breached';
  breachedAt: string;
}

/** The reasons a notification carries: the top few, as a lead read lists them (level reason first). */
export const TOP_REASONS = 5;

/** A Standard Webhooks message id: unique per notification, the same on every retry (receivers dedupe on it). */
export const messageId = () => `msg_${crypto.randomUUID().replace(/-/g, '')}`;

/** One line for people: "ada@example.com is now Very Hot (was Hot)". */
export function headline(body: NotificationBody): string {
  const { lead, change } = body.data;
  const who = lead ? lead.email ?? lead.id : 'A test lead';
  if (body.type === 'test') return `Test notification for ${body.data.team.name} from leadlevel`;
  const drop = body.data.insights;
  if (drop) {
    const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;
    return `Engagement index ${drop.group === 'all' ? 'overall' : `for ${drop.by} ${drop.group}`} fell to ${pct(drop.index)} from ${pct(drop.before)} a week before`;
  }
  if (body.type === 'lead.sla_breached') {
    const sla = body.data.sla;
    return `SLA breached: ${who} (${lead?.levelName ?? change.to}) was not contacted in time${sla ? ` by ${sla.team.name} (due ${sla.dueAt})` : ''}`;
  }
  const to = change.toName ?? change.to;
  const from = change.fromName ?? change.from;
  return change.kind === 'stage' ? `${who} reached stage ${to}${from ? ` (was ${from})` : ''}` : `${who} is now ${to}${from ? ` (was ${from})` : ''}`;
}

/** The profile link of a lead in the operator dashboard, when the deployment knows its public address. */
export function profileUrl(env: { PUBLIC_URL?: string; ENVIRONMENT?: string }, id: string): string | null {
  const base = env.PUBLIC_URL || (env.ENVIRONMENT === 'development' ? 'http://127.0.0.1:8787' : '');
  return base ? `${base.replace(/\/+$/, '')}/app/leads/${encodeURIComponent(id)}` : null;
}

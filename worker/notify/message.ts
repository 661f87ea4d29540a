/**
 * What a notification says, the same for every destination: the Standard Webhooks body `{ type, timestamp,
 * data }` (SPEC, "Notifications"). Webhooks get it as JSON; Slack and email render it (slack.ts, email.ts).
 * It is built when the change commits, so a retry a day later still tells what happened then.
 */
import type { Reason } from '../../shared/api.js';
import type { Treatment } from '../site.js';
import type { Fit } from './fit.js';

export type NotificationType = 'lead.level_changed' | 'lead.stage_changed' | 'lead.sla_breached' | 'test';

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
  kind: 'level' | 'stage' | 'sla' | 'test';
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
  };
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

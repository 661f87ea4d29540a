/**
 * Notifications of one lead (SPEC "Teams, routing and notifications"). When a commit moves the lead up into a
 * level, or into a stage, that a route sends to a team, one outbox row per destination of that team
 * (`notify:<team>:<index>`) is written in that same commit; the outbox delivers them by the alarm, in order per
 * destination, at least once. Each carries a Standard Webhooks id fixed when it was queued, so a retry — after a
 * receiver that took the message but answered too late, say — is one a receiver recognizes and drops.
 *
 * Retries back off (outbox.ts) for at least RETRY_SPAN_MS before a notification is given up as failed; a 410
 * disables the destination for the whole deployment. Each attempt is recorded in D1 (deliveries.ts).
 */
import type { HandedNotification, LeadView, LevelMark } from '../../shared/api.js';
import type { CompiledModel } from '../../shared/compile.js';
import type { TypeResult } from '../../shared/engine.js';
import type { Env } from '../env.js';
import { disable, isDisabled, recordDelivery, type Delivery } from '../notify/deliveries.js';
import { fitOf } from '../notify/fit.js';
import { messageId, profileUrl, TOP_REASONS, type Change, type NotificationBody, type NotificationType, type SlaNews } from '../notify/message.js';
import { send, targetOf } from '../notify/send.js';
import { TEAMS_FILE, teamById, teamsConfig, teamsFor, type Move, type Team } from '../notify/teams.js';
import { treatmentFor } from '../site.js';
import type { Outbox } from './outbox.js';
import type { OutboxRow, SlaRow } from './store.js';

/** Retries go on for at least a day (SPEC): a receiver down over a weekend night still gets its news. */
export const RETRY_SPAN_MS = 24 * 3_600_000;

export const NOTIFY_DEST = 'notify';

/** An outbox row of a notification. */
export interface QueuedNotification {
  id: string;
  team: string;
  destination: number;
  leadKey: string;
  /** When it was queued: retries end RETRY_SPAN_MS after. */
  queuedAt: number;
  body: NotificationBody;
}

export interface NotifyHost {
  env: Env;
  key(): string;
  /** Whether the lead is known (an email or userId): anonymous visitors are nobody's to call. */
  known(): boolean;
  /** The lead's read, inside the commit (for the reasons and fit a notification carries). */
  view(now: number): LeadView | null;
  /** A level move was sent to a team (its response SLA starts), inside the commit. */
  routed(team: Team, move: Move, now: number): void;
}

const iso = (t: number) => new Date(t).toISOString();

export class Notify {
  constructor(
    private readonly outbox: Outbox,
    private readonly model: CompiledModel,
    private readonly host: NotifyHost,
  ) {}

  /**
   * Part of the caller's commit: the moves up from `before` to `after` (per scoring type, a higher level or a
   * new stage), each told to the teams routes send it to. Nothing is read unless something moved up.
   * `merged`: where a lead merged in by this commit stood — its place was told already, so a move counts only
   * beyond the higher of the two levels, into a stage neither was in.
   */
  moved(before: readonly LevelMark[] | null, after: readonly TypeResult[] | null, now: number, merged: readonly LevelMark[] | null = null): void {
    if (!after) return;
    const moves: { move: Move; change: Change; result: TypeResult }[] = [];
    after.forEach((a, i) => {
      const t = this.model.types[i];
      const own = before?.[i];
      if (!t || (own && own.scoringType !== a.scoringType)) return;
      const other = merged?.find((m) => m.scoringType === a.scoringType && t.tierIds.includes(m.level));
      const rank = (m: LevelMark | undefined) => (m ? t.tierIds.indexOf(m.level) : 0);
      const b = own && other ? (rank(other) > rank(own) ? other : own) : (own ?? other);
      const base = { scoringType: a.scoringType, level: a.level, stage: a.stage, fit: null };
      if (t.tierIds.indexOf(a.level) > rank(b)) {
        moves.push({ move: { kind: 'level', to: a.level, ...base }, change: { kind: 'level', scoringType: a.scoringType, from: b?.level ?? null, to: a.level, fromName: b?.levelName ?? null, toName: a.levelName, at: iso(now) }, result: a });
      }
      // Into a later stage than either lead was in: a refold (a late hold, a rescore) can also move a lead back.
      const stages = t.stages.map((st) => st.id);
      const stageRank = (m: LevelMark | undefined) => (m?.stage ? stages.indexOf(m.stage) : -1);
      if (a.stage !== null && stages.indexOf(a.stage) > Math.max(stageRank(own), stageRank(other))) {
        const from = stageRank(other) > stageRank(own) ? other : (own ?? other);
        moves.push({ move: { kind: 'stage', to: a.stage, ...base }, change: { kind: 'stage', scoringType: a.scoringType, from: from?.stage ?? null, to: a.stage, fromName: from?.stageName ?? null, toName: a.stageName, at: iso(now) }, result: a });
      }
    });
    if (!moves.length || !this.host.known()) return;
    let cfg;
    try {
      cfg = teamsConfig();
    } catch {
      return; // a teams file the Worker refuses to serve with (503 config_invalid) sends nothing
    }
    if (!cfg.routes.length) return;
    const view = this.host.view(now);
    if (!view) return;
    const fit = fitOf(view);
    for (const { move, change, result } of moves) {
      move.fit = fit?.grade ?? null;
      const teams = teamsFor(move, this.model.types[0].id, cfg);
      if (!teams.length) continue;
      const type: NotificationType = move.kind === 'level' ? 'lead.level_changed' : 'lead.stage_changed';
      for (const team of teams) {
        this.enqueue(team, this.#body(type, view, result, change, team, now), now);
        if (move.kind === 'level') this.host.routed(team, move, now);
      }
    }
  }

  #body(type: NotificationType, view: LeadView, result: TypeResult, change: Change, team: Team, now: number, sla?: SlaNews): NotificationBody {
    const typeView = view.scoringTypes.find((t) => t.scoringType === result.scoringType);
    return {
      type,
      timestamp: iso(now),
      data: {
        lead: {
          id: view.id,
          email: view.email,
          level: result.level,
          levelName: result.levelName,
          stage: result.stage,
          scores: { engagement: result.engagementScore, lead: result.leadScore, momentum: result.momentum },
          fit: fitOf(view),
          profileUrl: profileUrl(this.host.env, view.id),
        },
        change,
        reasons: (typeView?.reasons ?? view.reasons).slice(0, TOP_REASONS),
        treatment: result.scoringType === this.model.types[0].id ? safeTreatment(result.level) : null,
        team: { id: team.id, name: team.name },
        ...(sla ? { sla } : {}),
      },
    };
  }

  /**
   * Part of the caller's commit: `sla` was breached; `to` (its team's escalateTo) is told. `result`: the lead
   * now, in the SLA's scoring type.
   */
  breached(sla: SlaRow, slaTeam: Team, to: Team, result: TypeResult, now: number): void {
    const view = this.host.view(now);
    if (!view) return;
    const t = this.model.types.find((x) => x.id === sla.scoringType);
    const levelName = t?.tierNames[t.tierIds.indexOf(sla.level)] ?? sla.level;
    const change: Change = { kind: 'sla', scoringType: sla.scoringType, from: null, to: sla.level, fromName: null, toName: levelName, at: iso(sla.dueAt) };
    const news: SlaNews = { team: { id: slaTeam.id, name: slaTeam.name }, level: sla.level, levelName, startedAt: iso(sla.startedAt), dueAt: iso(sla.dueAt), state: 'breached', breachedAt: iso(sla.breachedAt ?? sla.dueAt) };
    this.enqueue(to, this.#body('lead.sla_breached', view, result, change, to, now, news), now);
  }

  /**
   * Part of the caller's commit: queued notifications a merged lead handed over (merge.ts), kept with their
   * message ids, attempts and retry times; this lead delivers them from now on. One already here (a merge run
   * again) is not queued twice.
   */
  adopt(rows: readonly HandedNotification[]): void {
    for (const row of rows) {
      const n = JSON.parse(row.payload) as QueuedNotification;
      this.outbox.adopt({ ...row, payload: JSON.stringify({ ...n, leadKey: this.host.key() }) }, n.id);
    }
  }

  /** One row per destination of the team, each with its own message id. Part of the caller's commit. */
  enqueue(team: Team, body: NotificationBody, now: number, id?: string, only?: number): void {
    team.destinations.forEach((_, destination) => {
      if (only !== undefined && destination !== only) return;
      const row: QueuedNotification = { id: id ?? messageId(), team: team.id, destination, leadKey: this.host.key(), queuedAt: now, body };
      this.outbox.enqueue(`${NOTIFY_DEST}:${team.id}:${destination}`, 'notification', row, now);
    });
  }

  /**
   * The outbox's delivery of one notification row. Returns when the row is done with (delivered, or given up
   * as failed: the destination was disabled or removed, or a day of retries passed); throws to be retried.
   */
  async deliver(row: OutboxRow): Promise<void> {
    const n = JSON.parse(row.payload) as QueuedNotification;
    const db = this.host.env.INDEX;
    const now = Date.now();
    const record: Delivery = {
      id: n.id,
      leadKey: n.leadKey,
      leadId: n.body.data.lead?.id ?? '',
      team: n.team,
      destination: n.destination,
      destinationType: 'unknown',
      event: n.body.type,
      status: 'pending',
      attempts: row.attempts + 1,
      lastStatus: null,
      lastError: null,
      payload: JSON.stringify(n.body),
      createdAt: n.queuedAt,
      updatedAt: now,
      deliveredAt: null,
    };
    let team: Team | undefined;
    try {
      team = teamById(n.team);
    } catch {
      team = undefined;
    }
    const dest = team?.destinations[n.destination];
    if (!dest) return recordDelivery(db, { ...record, status: 'failed', lastError: `team "${n.team}" has no destination ${n.destination} any more (${TEAMS_FILE} changed)` });
    record.destinationType = dest.type;
    const disabled = await isDisabled(db, n.team, n.destination, targetOf(dest));
    if (disabled) return recordDelivery(db, { ...record, attempts: row.attempts, status: 'failed', lastError: `not sent: the destination is disabled (${disabled})` });
    // Recorded before the send: if D1 cannot take it, nothing is sent and the row is retried.
    if (row.attempts === 0) await recordDelivery(db, { ...record, attempts: 0 });
    const out = await send(dest, n.body, n.id, this.host.env);
    const after = { ...record, lastStatus: out.status, lastError: out.error, updatedAt: Date.now() };
    if (out.ok) return recordDelivery(db, { ...after, status: 'delivered', deliveredAt: after.updatedAt });
    if (out.gone) {
      await disable(db, n.team, n.destination, targetOf(dest), `answered 410 Gone at ${iso(after.updatedAt)}`, after.updatedAt);
      return recordDelivery(db, { ...after, status: 'failed', lastError: `${out.error}: the destination is disabled` });
    }
    if (after.updatedAt - n.queuedAt >= RETRY_SPAN_MS) return recordDelivery(db, { ...after, status: 'failed', lastError: `${out.error}; given up after ${after.attempts} attempts over ${Math.round((after.updatedAt - n.queuedAt) / 3_600_000)} h` });
    await recordDelivery(db, after).catch(() => undefined);
    throw new Error(out.error ?? 'not delivered');
  }
}

function safeTreatment(level: string) {
  try {
    return treatmentFor(level);
  } catch {
    return null;
  }
}

/**
 * Response SLAs of one lead (SPEC, "SLA"). Owns the `slas` table (store.ts's sixth migration): one row per team
 * the lead was routed to, holding that team's latest SLA, and a timer row (`sla`, key = team) while it is open.
 *
 * - Started when a commit moves the lead up into a level that a route sends to the team (the same moment, and
 *   commit, as the team's notification), due after the level's span in the team's business hours and zone.
 *   A later move up routed to the same team starts a new SLA for it, replacing the old one.
 * - Met by a contact (`POST /v1/leads/{id}/contacted`, or a `Lead Contacted` event) made while it is open.
 * - Breached at its due instant, by the alarm: `lead.sla_breached` goes to the team's `escalateTo` team in the
 *   commit that records the breach (a team with no `escalateTo` only records it).
 * - Closed, never breached, when the lead falls below the SLA's level before it is due (decay or a penalty):
 *   nobody is expected to call a lead that no longer warrants the call. Moving further up keeps it open.
 * - Handed over on a merge: the merged lead's SLAs go on at the receiving lead, reconciled with its own per team
 *   (`reconcile`), so the team still owes the call it owed and the breach still escalates on time.
 *
 * The handler is idempotent: a second run finds the SLA no longer open and only drops its timer.
 */
import type { SlaView } from '../../shared/api.js';
import type { LevelChange } from '../../shared/engine.js';
import { slaDueFor, teamById, type Team } from '../notify/teams.js';
import type { SlaRow, Store } from './store.js';
import type { Timers } from './timers.js';

export interface SlaHost {
  /** A level's rank in its scoring type (higher is hotter); -1 when unknown. */
  rank(scoringType: string, level: string): number;
  /** An SLA was breached: its escalation, in the same commit. */
  breached(sla: SlaRow, now: number): void;
  /** An SLA started, was met, breached or closed: the index row is written again. */
  changed(): void;
}

export interface Contact {
  team?: string;
  at: number;
  by?: string;
  note?: string;
}

const iso = (t: number) => new Date(t).toISOString();

export class Sla {
  #rows: Map<string, SlaRow> | null = null;

  constructor(
    private readonly store: Store,
    private readonly timers: Timers,
    private readonly host: SlaHost,
  ) {}

  #cache(): Map<string, SlaRow> {
    return (this.#rows ??= new Map(this.store.slas().map((r) => [r.team, r])));
  }

  #put(row: SlaRow): void {
    this.store.putSla(row);
    this.#cache().set(row.team, row);
    if (row.state === 'open') this.timers.set('sla', row.dueAt, row.team);
    else this.timers.clear('sla', row.team);
    this.host.changed();
  }

  /** The store was cleared under us (erasure, a merge handing the lead away). */
  reset(): void {
    this.#rows = null;
  }

  /** Part of the caller's commit: the lead moved up into `level`, which a route sends to `team`. */
  start(team: Team, scoringType: string, level: string, at: number): void {
    let dueAt: number | null;
    try {
      dueAt = slaDueFor(team, level, at);
    } catch {
      dueAt = null; // hours the validator let through but the arithmetic refuses: no SLA rather than no commit
    }
    if (dueAt === null) return;
    this.#put({ team: team.id, scoringType, level, startedAt: at, dueAt, state: 'open', metAt: null, metBy: null, note: null, breachedAt: null, closedAt: null });
  }

  /** Part of the caller's commit: level changes just recorded; a fall below an open SLA's level closes it. */
  changes(changes: readonly LevelChange[]): void {
    if (!changes.length || !this.#open().length) return;
    for (const s of this.#open()) {
      const need = this.host.rank(s.scoringType, s.level);
      const drop = changes.find((c) => c.scoringType === s.scoringType && c.at >= s.startedAt && c.at < s.dueAt && this.host.rank(c.scoringType, c.to) < need);
      if (drop) this.#put({ ...s, state: 'closed', closedAt: drop.at });
    }
  }

  /** Part of a merge's commit: the merged lead's SLAs go on here, each reconciled with this lead's for its team. */
  adopt(rows: readonly SlaRow[]): void {
    for (const theirs of rows) {
      const mine = this.#cache().get(theirs.team);
      const kept = mine ? reconcile(mine, theirs, this.host.rank) : theirs;
      if (kept !== mine) this.#put(kept);
    }
  }

  #open(): SlaRow[] {
    return [...this.#cache().values()].filter((s) => s.state === 'open');
  }

  /**
   * Part of the caller's commit: a contact meets the open SLAs (of `team`, or every team's) it falls within —
   * started no later than the contact, due no earlier. Returns those it met.
   */
  contacted(c: Contact): SlaRow[] {
    const met: SlaRow[] = [];
    for (const s of this.#open()) {
      if (c.team !== undefined && s.team !== c.team) continue;
      if (c.at < s.startedAt || c.at > s.dueAt) continue;
      const row: SlaRow = { ...s, state: 'met', metAt: c.at, metBy: c.by ?? null, note: c.note ?? null };
      this.#put(row);
      met.push(row);
    }
    return met;
  }

  /** The alarm: the team's SLA timer fell due. Idempotent. */
  due(team: string, now: number): void {
    const s = this.#cache().get(team);
    if (!s || s.state !== 'open') return this.timers.clear('sla', team);
    if (s.dueAt > now) return this.timers.set('sla', s.dueAt, team);
    const row: SlaRow = { ...s, state: 'breached', breachedAt: s.dueAt };
    this.#put(row);
    this.host.breached(row, now);
  }

  /** The most pressing SLA: the open one due first, else the latest started. */
  current(): SlaRow | null {
    const all = [...this.#cache().values()];
    const open = all.filter((s) => s.state === 'open').sort((a, b) => a.dueAt - b.dueAt);
    return open[0] ?? all.sort((a, b) => b.startedAt - a.startedAt || a.team.localeCompare(b.team))[0] ?? null;
  }

  /** What a lead read shows; nothing when no SLA ever started (the read keeps its shape: `sla: null`). */
  view(): { sla: SlaView | null; slas: SlaView[] } {
    const current = this.current();
    return { sla: current && slaView(current), slas: [...this.#cache().values()].sort((a, b) => a.startedAt - b.startedAt || a.team.localeCompare(b.team)).map(slaView) };
  }
}

/**
 * One team's SLA when two leads that each had one become one lead. The hotter level's SLA is the call the team
 * owes (a later move up replaces an SLA, as on one lead). At the same level: a met SLA stays met (the lead was
 * called); otherwise the earlier due instant wins — an SLA already breached stays breached (its escalation went),
 * an open one keeps the earlier deadline; a closed one only when both are. SLAs of different scoring types: the
 * later started, as on one lead. Symmetric but for exact ties, where `mine` stays.
 */
export function reconcile(mine: SlaRow, theirs: SlaRow, rank: SlaHost['rank']): SlaRow {
  if (mine.scoringType !== theirs.scoringType) return theirs.startedAt > mine.startedAt ? theirs : mine;
  const [a, b] = [rank(mine.scoringType, mine.level), rank(theirs.scoringType, theirs.level)];
  if (a !== b) return b > a ? theirs : mine;
  const met = [mine, theirs].filter((s) => s.state === 'met').sort((x, y) => x.metAt! - y.metAt!);
  if (met.length) return met[0];
  const live = [mine, theirs].filter((s) => s.state !== 'closed').sort((x, y) => x.dueAt - y.dueAt);
  return live[0] ?? (theirs.closedAt! > mine.closedAt! ? theirs : mine);
}

export function slaView(s: SlaRow): SlaView {
  return {
    team: s.team,
    level: s.level,
    startedAt: iso(s.startedAt),
    dueAt: iso(s.dueAt),
    state: s.state,
    ...(s.metAt !== null ? { metAt: iso(s.metAt) } : {}),
    ...(s.metBy !== null ? { metBy: s.metBy } : {}),
    ...(s.note !== null ? { note: s.note } : {}),
    ...(s.breachedAt !== null ? { breachedAt: iso(s.breachedAt) } : {}),
    ...(s.closedAt !== null ? { closedAt: iso(s.closedAt) } : {}),
  };
}

/** The team an SLA's breach escalates to, if it still has one. */
export function escalationOf(team: string): Team | undefined {
  try {
    const t = teamById(team);
    return t?.escalateTo ? teamById(t.escalateTo) : undefined;
  } catch {
    return undefined;
  }
}

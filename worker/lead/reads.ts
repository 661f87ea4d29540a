/**
 * Reads: the level, the full lead view and the events listing. Nothing here writes. Points per event are not
 * stored: they are derived by refolding the stretch being read from the nearest checkpoint before it — the
 * same engine, so what a read shows is what the scores were made of — into the complete ledger (shared/ledger.ts).
 */
import type { EventCursor, EventReason, EventView, EventsPage, HeldCounts, HeldView, LeadView, LedgerLine, LevelSummary, Reason, TypeView } from '../../shared/api.js';
import type { CompiledModel } from '../../shared/compile.js';
import { cloneState, compareEvents, isInOrder, type LeadState, type TypeResult } from '../../shared/engine.js';
import { ledgerOf, newestEntries, type Ledger, type LedgerItem } from '../../shared/ledger.js';
import { sentMessageId } from '../../shared/events.js';
import { explainCarried, explainLevel, explainRule } from '../../shared/explain.js';
import type { Scorer } from '../../shared/scorer.js';
import { idOfKey } from '../identity.js';
import type { Scoring } from './scoring.js';
import type { Store, StoredEvent } from './store.js';

const iso = (t: number | null | undefined) => (t === null || t === undefined || !Number.isFinite(t) ? null : new Date(t).toISOString());

/** An entry as the API shows it: its time as ISO, its event's id as the client sent it (as the events listing shows it). */
const line = (x: LedgerItem): LedgerLine => ({ ...x, at: iso(x.at)!, ...(x.messageId && { messageId: sentMessageId(x.messageId).messageId }) });

/** Two streams in engine order as one, each event kept only if `keep` says so. */
function* mergeSorted(a: Iterable<StoredEvent>, b: StoredEvent[], keep: (e: StoredEvent) => boolean): Generator<StoredEvent> {
  let j = 0;
  for (const e of a) {
    if (!keep(e)) continue;
    while (j < b.length && compareEvents(b[j], e) < 0) yield b[j++];
    yield e;
  }
  while (j < b.length) yield b[j++];
}

/** Anonymous ids listed in a lead read; the total is given beside them. */
const LISTED_ANONYMOUS_IDS = 50;

/** Ledger entries listed in a lead read per scoring type; older ones are summed into a balance (the events listing itemizes them). */
const LISTED_LEDGER_ENTRIES = 500;

export class Reads {
  constructor(
    private readonly store: Store,
    private readonly scoring: Scoring,
    private readonly model: CompiledModel,
  ) {}

  publicId(): string {
    return this.store.meta('user_id') ?? this.store.meta('email') ?? idOfKey(this.store.meta('key') ?? 'a:');
  }

  summary(r: TypeResult): LevelSummary {
    return { id: this.publicId(), level: r.level, levelName: r.levelName, engagementScore: r.engagementScore, leadScore: r.leadScore, doNotContact: r.doNotContact };
  }

  level(now: number): LevelSummary | null {
    const results = this.scoring.evaluate(now);
    return results ? this.summary(results[0]) : null;
  }

  /**
   * The state to refold from so that every event at or after (t, id) is folded again: the newest checkpoint
   * taken before it, else the base.
   */
  #from(scorer: Scorer, t: number): LeadState {
    const day = this.model.days.day(t);
    for (let i = scorer.checkpoints.length - 1; i >= 0; i--) if (scorer.checkpoints[i].day <= day) return cloneState(scorer.checkpoints[i].state);
    return cloneState(scorer.base);
  }

  /**
   * The ledger from the newest checkpoint at or before instant `from` to `now`, held events included, over the
   * events before `before` (all of them when null).
   */
  #ledger(scorer: Scorer, from: number, now: number, before: EventCursor | null = null): Ledger {
    const start = this.#from(scorer, from);
    const after = (e: StoredEvent) => isInOrder(start, e) && (!before || e.timestamp < before.ts || (e.timestamp === before.ts && e.messageId < before.id));
    const held = this.store.openHolds(before?.ts ?? now).filter(after).sort(compareEvents);
    const scored = this.store.eventsAfter(start.clock, start.lastId, before?.ts ?? now);
    return ledgerOf(this.model, start, mergeSorted(scored, held, after), now);
  }

  /** What each rule gave inside the window, the largest first: the reasons beside the level. */
  #windowReasons(entries: LedgerItem[], now: number): Map<string, Reason[]> {
    const byType = new Map<string, Reason[]>();
    for (const t of this.model.types) {
      const from = this.model.days.start(this.model.days.day(now) - t.windowDays + 1);
      const perRule = new Map<string, { pts: number; n: number; last: number }>();
      for (const x of entries) {
        if (x.scoringType !== t.id || (x.kind !== 'rule' && x.kind !== 'cap') || x.at < from || x.points === 0) continue;
        const r = perRule.get(x.rule!) ?? { pts: 0, n: 0, last: 0 };
        r.pts += x.points;
        r.n += 1;
        r.last = Math.max(r.last, x.at);
        perRule.set(x.rule!, r);
      }
      const top = [...perRule].sort((a, b) => Math.abs(b[1].pts) - Math.abs(a[1].pts)).slice(0, 5);
      byType.set(t.id, top.map(([rule, r]) => explainRule(t, rule, r.pts, r.n, r.last)));
    }
    return byType;
  }

  #typeView(r: TypeResult, i: number, points: Reason[], ledger: LedgerItem[] | null): TypeView {
    const t = this.model.types[i];
    const view: TypeView = {
      scoringType: r.scoringType,
      name: r.name,
      level: r.level,
      levelName: r.levelName,
      levelSince: iso(r.levelSince),
      engagementScore: r.engagementScore,
      leadScore: r.leadScore,
      momentum: r.momentum,
      diversity: r.diversity,
      signals: r.signals,
      stage: r.stage,
      doNotContact: r.doNotContact,
      nextLevelChangeAt: iso(r.nextLevelChangeAt),
      reasons: [t ? explainLevel(t, r.level, r.reason, r.levelSince, r.engagementScore) : { kind: r.reason.kind, text: r.levelName }, ...points],
    };
    if (ledger) view.ledger = newestEntries(ledger.filter((x) => x.scoringType === r.scoringType), LISTED_LEDGER_ENTRIES).map(line);
    return view;
  }

  view(now: number): LeadView | null {
    const results = this.scoring.evaluate(now);
    if (!results) return null;
    const scorer = this.scoring.scorer();
    const stale = !scorer;
    // One refold from the checkpoint before the earliest window start: the ledger and the reasons beside the level.
    const earliest = Math.min(...this.model.types.map((t) => this.model.days.start(this.model.days.day(now) - t.windowDays + 1)));
    const ledger = scorer ? this.#ledger(scorer, earliest, now).entries : null;
    const points = ledger ? this.#windowReasons(ledger, now) : new Map<string, Reason[]>();
    const types = results.map((r, i) => this.#typeView(r, i, points.get(r.scoringType) ?? [], ledger));
    const key = this.store.meta('key')!;
    const anon = this.store.aliases('a:', LISTED_ANONYMOUS_IDS);
    const anonymousIds = [...(key.startsWith('a:') ? [key] : []), ...anon.ids].map(idOfKey);
    const history = this.store.levels(now, 50).map((h) => {
      const t = this.model.types.find((x) => x.id === h.scoringType);
      const reason = t ? explainLevel(t, h.to, h.reason, h.at, h.reason.kind === 'tier' ? h.reason.score : 0) : { kind: h.reason.kind, text: h.to };
      return { scoringType: h.scoringType, from: h.from, to: h.to, at: iso(h.at)!, reason };
    });
    const { scoringType: _s, name: _n, ...primary } = types[0];
    const state = this.store.state()!;
    const view: LeadView = {
      id: this.publicId(),
      userId: this.store.meta('user_id') ?? null,
      email: this.store.meta('email') ?? null,
      anonymousIds,
      ...primary,
      firstSeenAt: iso(state.firstSeen),
      lastActivityAt: iso(results[0].lastActivityAt),
      events: this.store.eventCount(),
      storageBytes: this.store.bytes,
      model: { id: state.model, version: state.version },
      scoringTypes: types,
      history,
      // A summary stored before fit existed has none: null until the lead is rescored.
      fit: results[0].fit ?? null,
    };
    const base = this.store.meta('base');
    if (base) {
      // History older than the retained raw events: what it was and what it still counts for.
      const b = JSON.parse(base) as { cut: number; events?: number; carried?: boolean; model?: { id: string; version: number } };
      const carried = b.carried ? b.model ?? null : null;
      view.retention = {
        compactedBefore: iso(b.cut)!,
        compactedEvents: b.events ?? 0,
        points: this.#carriedPoints(),
        text: explainCarried(this.#carriedPoints(), b.events ?? 0, b.cut, carried),
      };
    }
    const held = this.#heldCounts();
    if (held) view.held = held;
    if (anon.total > anon.ids.length) (view as LeadView & { anonymousIdCount: number }).anonymousIdCount = anon.total + (key.startsWith('a:') ? 1 : 0);
    if (stale) view.rescorePending = true;
    return view;
  }

  #heldCounts(): HeldCounts | null {
    const rows = this.store.holdCounts();
    if (!rows.length) return null;
    const counts: HeldCounts = { events: 0, permanent: 0, released: 0, bySignal: {} };
    for (const r of rows) {
      if (r.released) {
        counts.released += r.n;
        continue;
      }
      counts.events += r.n;
      if (r.permanent) counts.permanent += r.n;
      const signal = r.signal as HeldView['signal'];
      counts.bySignal[signal] = (counts.bySignal[signal] ?? 0) + r.n;
    }
    return counts;
  }

  /** The all-time points of history before the base, per the rollups (the primary scoring type). */
  #carriedPoints(): number {
    return this.store.rollupTotals().byType.get(this.model.types[0].id) ?? 0;
  }

  /** The lead's events, newest first, each with the points it earned and why. */
  events(limit: number, cursor: EventCursor | null, now: number): EventsPage | null {
    if (!this.scoring.exists) return null;
    const rows = this.store.eventsNewestFirst(limit + 1, cursor);
    const page = rows.slice(0, limit);
    const scorer = this.scoring.scorer();
    const reasons = new Map<string, EventReason[]>();
    const lines = new Map<string, LedgerLine[]>();
    let timed: LedgerLine[] | undefined;
    if (scorer && page.length) {
      const wanted = new Set(page.map((e) => e.messageId));
      const oldest = page[page.length - 1].timestamp;
      // The page's stretch: from its oldest event (the very start on the last page) to where the previous page ended.
      const lo = rows.length > limit ? oldest : -Infinity;
      const hi = cursor?.ts ?? Infinity;
      const today = this.model.days.day(now);
      const ledger = this.#ledger(scorer, oldest, now, cursor).entries;
      timed = [];
      for (const x of ledger) {
        if (!x.messageId) {
          if (x.at >= lo && x.at < hi) timed.push(line(x));
          continue;
        }
        if (!wanted.has(x.messageId)) continue;
        lines.set(x.messageId, [...(lines.get(x.messageId) ?? []), line(x)]);
        if (x.kind !== 'rule' && x.kind !== 'cap') continue;
        const t = this.model.types.find((tt) => tt.id === x.scoringType)!;
        const r: EventReason = {
          scoringType: x.scoringType,
          rule: x.rule!,
          ruleName: x.ruleName ?? x.rule!,
          points: x.points,
          base: x.base ?? x.points,
          inWindow: this.model.days.day(x.at) >= today - t.windowDays + 1,
        };
        if (x.clippedBy) r.clippedBy = x.clippedBy;
        reasons.set(x.messageId, [...(reasons.get(x.messageId) ?? []), r]);
      }
    }
    const primary = this.model.types[0].id;
    const events = page.map((e): EventView => {
      const why = reasons.get(e.messageId) ?? [];
      const v: EventView = {
        ...sentMessageId(e.messageId),
        type: e.type,
        event: e.event ?? null,
        properties: e.properties,
        timestamp: iso(e.timestamp)!,
        receivedAt: iso(e.receivedAt)!,
        points: why.filter((x) => x.scoringType === primary).reduce((s, x) => s + x.points, 0),
        reasons: why,
      };
      if (timed) v.ledger = lines.get(e.messageId) ?? [];
      if (e.timeNote) v.timeNote = e.timeNote;
      if (e.held) v.held = { signal: e.held.signal, reason: e.held.reason, permanent: e.held.permanent, releasedAt: iso(e.held.releasedAt) };
      return v;
    });
    const last = page[page.length - 1];
    const out: EventsPage = { events, next: rows.length > limit && last ? { ts: last.timestamp, id: last.messageId } : null };
    if (timed) out.ledger = timed;
    return out;
  }
}

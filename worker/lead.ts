/**
 * One Durable Object per lead id. It stores the lead's events (deduplicated by messageId), folds them with
 * the shared engine's incremental Scorer, keeps the level history, and keeps one alarm at the next instant
 * something changes by itself — so what it reports is right at every moment, with or without new events.
 *
 * An object whose id was merged into another lead forwards to it (`forwardTo`); see identity.ts.
 */
import { DurableObject } from 'cloudflare:workers';
import type { CompiledModel } from '../shared/compile.js';
import { compareEvents, type LedgerEntry, type LevelChange, type LevelReason, type TypeResult } from '../shared/engine.js';
import type { LeadEvent } from '../shared/events.js';
import { DAY_MS } from '../shared/limits.js';
import { Scorer, type Checkpoint, type EventLog } from '../shared/scorer.js';
import type { Env } from './env.js';
import { idOfKey } from './identity.js';
import { activeModel } from './model.js';
import { all, insertRows, migrate, one } from './sql.js';

export interface IngestInput {
  /** This object's own name (`u:…`, `e:…`, `a:…`). */
  key: string;
  events: LeadEvent[];
  aliases: string[];
  receivedAt: number;
  /** Site-key writes are rate limited per visitor. */
  limited: boolean;
}

export interface LevelSummary {
  id: string;
  level: string;
  levelName: string;
  engagementScore: number;
  leadScore: number;
  doNotContact: boolean;
}

export type IngestResult =
  | {
      ok: true;
      accepted: number;
      duplicates: number;
      archived: number;
      lead: LevelSummary;
      /** The level before this batch and the changes it caused (primary scoring type). */
      previousLevel: string;
      changes: LevelChange[];
    }
  | { ok: false; status: 429; retryAfter: number };

export interface Reason {
  kind: string;
  text: string;
  at?: string;
  points?: number;
}

export interface TypeView {
  scoringType: string;
  name: string;
  level: string;
  levelName: string;
  levelSince: string | null;
  engagementScore: number;
  leadScore: number;
  momentum: number;
  diversity: number;
  signals: string[];
  stage: string | null;
  doNotContact: boolean;
  nextLevelChangeAt: string | null;
  reasons: Reason[];
}

export interface LeadView extends Omit<TypeView, 'scoringType' | 'name'> {
  id: string;
  userId: string | null;
  email: string | null;
  anonymousIds: string[];
  firstSeenAt: string | null;
  lastActivityAt: string | null;
  events: number;
  /** Bytes of SQLite storage this lead uses. */
  storageBytes: number;
  model: { id: string; version: number };
  scoringTypes: TypeView[];
  history: { scoringType: string; from: string; to: string; at: string; reason: Reason }[];
}

export interface EventView {
  messageId: string;
  type: string;
  event: string | null;
  properties: Record<string, unknown>;
  timestamp: string;
  receivedAt: string;
  timeNote?: string;
  points: number;
  reasons: { scoringType: string; rule: string; ruleName: string; points: number; base: number; clippedBy?: string; inWindow: boolean }[];
}

const iso = (t: number | null | undefined) => (t === null || t === undefined || !Number.isFinite(t) ? null : new Date(t).toISOString());
const MIN_TS = Number.MIN_SAFE_INTEGER;

/** The SQLite event table as the Scorer's log. */
class SqlLog implements EventLog {
  constructor(
    private sql: SqlStorage,
    private receivedAt: () => number,
  ) {}
  has(id: string): boolean {
    return !!one(this.sql, 'SELECT 1 AS x FROM events WHERE message_id = ?', id);
  }
  known(ids: string[]): Set<string> {
    const found = new Set<string>();
    // Durable Object SQL allows at most 100 bound parameters per statement.
    for (let i = 0; i < ids.length; i += 100) {
      const chunk = ids.slice(i, i + 100);
      const rows = all<{ message_id: string }>(this.sql, `SELECT message_id FROM events WHERE message_id IN (${chunk.map(() => '?').join(',')})`, ...chunk);
      for (const r of rows) found.add(r.message_id);
    }
    return found;
  }
  add(e: LeadEvent): void {
    this.addAll([e]);
  }
  addAll(events: LeadEvent[]): void {
    const at = this.receivedAt();
    insertRows(this.sql, 'INSERT INTO events (message_id, ts, received_at, body)', events.map((e) => [e.messageId, e.timestamp, at, JSON.stringify(e)]));
  }
  after(t: number, id: string): LeadEvent[] {
    // Ordered in JS, by the engine's own comparison: SQLite's byte order of ids may differ from JS's.
    const rows = all<{ body: string }>(this.sql, 'SELECT body FROM events WHERE ts >= ?', Number.isFinite(t) ? t : MIN_TS);
    return rows
      .map((r) => JSON.parse(r.body) as LeadEvent)
      .filter((e) => e.timestamp > t || (e.timestamp === t && e.messageId > id))
      .sort(compareEvents);
  }
}

function describe(model: CompiledModel, r: TypeResult, typeIdx: number): Reason {
  const t = model.types[typeIdx];
  const reason: LevelReason = r.reason;
  const name = (id: string) => t.tierNames[t.tierIds.indexOf(id)] ?? id;
  const at = iso(r.levelSince) ?? undefined;
  switch (reason.kind) {
    case 'floor':
      return { kind: 'floor', text: `${reason.name}: at least ${r.levelName}`, at };
    case 'surge':
      return { kind: 'surge', text: `Engagement up ${reason.gain} points in ${t.surge?.days ?? 7} days: one tier above its score`, at };
    case 'tier':
    case 'start': {
      // Never lifted yet: the lowest tier, explained by the current score.
      const i = t.tierIds.indexOf(r.level);
      const hi = t.tierMins[i + 1];
      const score = reason.kind === 'tier' ? reason.score : r.engagementScore;
      return { kind: 'tier', text: `Engagement score ${score} is in ${r.levelName} (${t.tierMins[i]}${hi === undefined ? '+' : `–${hi - 1}`})`, at };
    }
    case 'ladder':
      return { kind: 'ladder', text: `No activity since ${iso(reason.idleSince)}: dropped from ${name(reason.from)} to ${r.levelName}`, at };
    case 'suppressed':
      return { kind: 'suppressed', text: `${reason.event}: cold and do-not-contact from then on`, at };
  }
}

export class Lead extends DurableObject<Env> {
  #sql: SqlStorage;
  #model: CompiledModel;
  #scorer: Scorer | null = null;
  #persistedDays = new Set<number>();
  #lock: Promise<unknown> = Promise.resolve();
  #tokens = 0;
  #tokensAt = 0;
  #receivedAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#model = activeModel();
    // Reading an id nobody wrote must not create storage: the schema is made on the first write.
    void ctx.blockConcurrencyWhile(async () => {
      this.#ready = !!one(this.#sql, "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = '_migrations'");
      if (this.#ready) {
        migrate(this.#sql);
        // Known, so an unchanged alarm is not written again after the object was evicted and reloaded.
        this.#alarmAt = await ctx.storage.getAlarm();
      }
    });
  }

  #ready = false;
  #ensureSchema(): void {
    if (!this.#ready) migrate(this.#sql);
    this.#ready = true;
  }

  /** The meta table, read once: every request consults it. */
  #metaCache: Map<string, string> | null = null;
  #meta(k: string): string | undefined {
    if (!this.#ready) return undefined;
    this.#metaCache ??= new Map(all<{ k: string; v: string }>(this.#sql, 'SELECT k, v FROM meta').map((r) => [r.k, r.v]));
    return this.#metaCache.get(k);
  }
  #setMeta(k: string, v: string): void {
    this.#ensureSchema();
    this.#sql.exec('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v', k, v);
    this.#metaCache?.set(k, v);
  }
  /** The alarm as last set by this object, so an unchanged one is not written again. */
  #alarmAt: number | null | undefined;

  /** Serializes work that awaits other objects, so two batches never interleave inside one lead. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  #loadScorer(): Scorer {
    if (this.#scorer) return this.#scorer;
    const log = new SqlLog(this.#sql, () => this.#receivedAt);
    const saved = this.#meta('state');
    const state = saved ? JSON.parse(saved) : null;
    const checkpoints = all<{ day: number; state: string }>(this.#sql, 'SELECT day, state FROM checkpoints ORDER BY day').map(
      (c): Checkpoint => ({ day: c.day, state: JSON.parse(c.state) }),
    );
    const current = state && state.model === this.#model.id && state.fingerprint === this.#model.fingerprint;
    if (current) {
      this.#scorer = new Scorer(this.#model, log, { state: revive(state), checkpoints: checkpoints.map((c) => ({ ...c, state: revive(c.state) })) });
      this.#persistedDays = new Set(checkpoints.map((c) => c.day));
    } else {
      // A new lead, or a new model version: rescore the stored history from scratch.
      this.#scorer = new Scorer(this.#model, log);
      if (state) this.#rescoreAll();
    }
    return this.#scorer;
  }

  #storedEvents(): LeadEvent[] {
    return all<{ body: string }>(this.#sql, 'SELECT body FROM events').map((r) => JSON.parse(r.body) as LeadEvent);
  }

  /** The model changed: every derived row is rebuilt from the stored events by one fold from the start. */
  #rescoreAll(): void {
    for (const t of ['ledger', 'timed', 'levels', 'checkpoints']) this.#sql.exec(`DELETE FROM ${t}`);
    this.#persistedDays.clear();
    const events = this.#storedEvents();
    // A log that knows none of them yet, so every event is folded as new, in order.
    const fresh = new Scorer(this.#model, { has: () => false, add: () => {}, after: () => [] });
    const r = fresh.addMany(events);
    this.#scorer!.state = fresh.state;
    this.#scorer!.checkpoints = fresh.checkpoints;
    this.#persist(r.ledgers, r.timed, r.changes, -Infinity);
  }

  /** Writes what a fold produced. Called with no await in between, so it commits with the events as one. */
  #persist(ledgers: Map<string, LedgerEntry[]>, timed: LedgerEntry[], changes: LevelChange[], since: number, fresh: ReadonlySet<string> = new Set()): void {
    const scorer = this.#scorer!;
    const rows: SqlStorageValue[][] = [];
    for (const [id, entries] of ledgers) {
      if (!fresh.has(id)) this.#sql.exec('DELETE FROM ledger WHERE message_id = ?', id);
      for (const x of entries) rows.push([id, x.scoringType, x.rule!, x.points, x.base ?? x.points, x.clippedBy ?? null, x.at]);
    }
    insertRows(this.#sql, 'INSERT INTO ledger (message_id, scoring_type, rule, points, base, clipped_by, ts)', rows);
    const from = Number.isFinite(since) ? since : MIN_TS;
    // Everything after the refold point was derived again: replace it.
    this.#sql.exec('DELETE FROM timed WHERE ts > ?', from);
    this.#sql.exec('DELETE FROM levels WHERE ts > ?', from);
    for (const x of timed) this.#insertTimed(x);
    for (const c of changes) this.#insertChange(c);
    this.#setMeta('state', JSON.stringify(scorer.state));
    const days = new Set(scorer.checkpoints.map((c) => c.day));
    for (const d of this.#persistedDays) if (!days.has(d)) this.#sql.exec('DELETE FROM checkpoints WHERE day = ?', d);
    for (const c of scorer.checkpoints) {
      if (!this.#persistedDays.has(c.day) || !Number.isFinite(since) || c.day >= this.#model.days.day(since)) {
        this.#sql.exec('INSERT INTO checkpoints (day, state) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET state = excluded.state', c.day, JSON.stringify(c.state));
      }
    }
    this.#persistedDays = days;
  }

  #insertTimed(x: LedgerEntry): void {
    this.#sql.exec('INSERT OR IGNORE INTO timed (scoring_type, kind, ts, points, note) VALUES (?, ?, ?, ?, ?)', x.scoringType, x.kind, x.at, x.points, x.note ?? null);
  }
  #insertChange(c: LevelChange): void {
    this.#sql.exec(
      'INSERT OR IGNORE INTO levels (scoring_type, ts, from_level, to_level, reason) VALUES (?, ?, ?, ?, ?)',
      c.scoringType, c.at, c.from, c.to, JSON.stringify(c.reason),
    );
  }

  #forwardTo(): string | undefined {
    return this.#meta('forward_to');
  }

  #stub(key: string): LeadStub {
    return leadStub(this.env, key);
  }

  #rateLimited(n: number, now: number): number {
    const perMinute = Number(this.env.VISITOR_EVENTS_PER_MINUTE ?? 120);
    const rate = perMinute / 60_000;
    if (this.#tokensAt === 0) this.#tokens = perMinute;
    this.#tokens = Math.min(perMinute, this.#tokens + (now - this.#tokensAt) * rate);
    this.#tokensAt = now;
    if (n <= this.#tokens) {
      this.#tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil((Math.min(n, perMinute) - this.#tokens) / rate / 1000));
  }

  /**
   * Stores and scores a batch for this lead; merges the aliases the batch links to it. Forwarding to the lead
   * this one was merged into always happens outside the lock: waiting on another object while holding our own
   * lock could deadlock with a merge going the other way.
   */
  async ingest(input: IngestInput): Promise<IngestResult> {
    for (;;) {
      const fwd = this.#forwardTo();
      if (fwd) return this.#stub(fwd).ingest({ ...input, key: fwd });
      const r = await this.#exclusive(() => this.#ingest(input));
      if (r !== FORWARD) return r;
    }
  }

  async #ingest(input: IngestInput): Promise<IngestResult | typeof FORWARD> {
    if (this.#forwardTo()) return FORWARD; // merged away while this batch waited for the lock
    if (input.limited) {
      const retryAfter = this.#rateLimited(input.events.length, input.receivedAt);
      if (retryAfter) return { ok: false, status: 429, retryAfter };
    }
    this.#ensureSchema();
    if (!this.#meta('key')) this.#setMeta('key', input.key);
    const known = new Set(input.aliases.length ? all<{ alias: string }>(this.#sql, 'SELECT alias FROM aliases').map((r) => r.alias) : []);
    const absorbed: LeadEvent[] = [];
    const merged: string[] = [];
    // Merges go from more definite ids to less definite ones (userId → email → anonymous), never back, so
    // two objects can never wait on each other.
    for (const alias of input.aliases) {
      let target = alias;
      for (let hop = 0; hop < 3 && target !== input.key && !known.has(target); hop++) {
        const r = await this.#stub(target).absorb(input.key);
        if (r.accepted) {
          absorbed.push(...r.events);
          merged.push(target, ...r.aliases.filter((a) => a !== input.key));
          break;
        }
        // The alias already belongs to a less definite lead (an anonymous visitor known by email, identified
        // now by userId): that lead is this one's history too. A more definite owner keeps it.
        if (r.forwardTo && rank(r.forwardTo) < rank(input.key)) target = r.forwardTo;
        else break;
      }
    }
    // From here to the end of #persist: no await, so the batch commits as one.
    const scorer = this.#loadScorer();
    const before = scorer.evaluate(input.receivedAt)[0];
    const previousClock = scorer.state.clock;
    const horizon = Number(this.#meta('scorable_from') ?? MIN_TS);
    const scorable = [...input.events, ...absorbed].filter((e) => e.timestamp >= horizon);
    const archived = input.events.length + absorbed.length - scorable.length;
    this.#archive([...input.events, ...absorbed].filter((e) => e.timestamp < horizon));
    this.#receivedAt = input.receivedAt;
    const r = scorer.addMany(scorable);
    if (this.#oldest !== undefined) for (const e of scorable) this.#oldest = Math.min(this.#oldest, e.timestamp);
    this.#persist(r.ledgers, r.timed, r.changes, r.rewoundTo ?? previousClock, new Set(r.added));
    for (const a of merged) this.#sql.exec('INSERT OR IGNORE INTO aliases (alias) VALUES (?)', a);
    this.#noteIdentity(input.key, merged); // only ids that did join: a refused email belongs to someone else
    const now = Math.max(input.receivedAt, Date.now());
    const after = this.#settle(now);
    // The merged objects may now drop their copies.
    for (const a of merged) {
      await this.#stub(a).confirmAbsorbed(input.key);
      this.#sql.exec('UPDATE aliases SET confirmed = 1 WHERE alias = ?', a);
    }
    const ownNew = new Set(input.events.map((e) => e.messageId));
    return {
      ok: true,
      accepted: r.added.filter((id) => ownNew.has(id)).length,
      duplicates: r.duplicates.filter((id) => ownNew.has(id)).length,
      archived,
      lead: this.#summary(after[0]),
      previousLevel: before.level,
      changes: r.changes.filter((c) => c.scoringType === after[0].scoringType),
    };
  }

  /** Events older than what can be rescored (history before it was compacted): kept in the day rollups. */
  #archive(events: LeadEvent[]): void {
    for (const e of events) {
      if (this.#sql.exec('SELECT 1 FROM events WHERE message_id = ?', e.messageId).toArray().length) continue;
      this.#sql.exec(
        'INSERT INTO rollups (day, scoring_type, rule, points, events) VALUES (?, ?, ?, 0, 1) ON CONFLICT DO UPDATE SET events = events + 1',
        this.#model.days.day(e.timestamp), '*', 'archived',
      );
    }
  }

  #noteIdentity(key: string, aliases: string[]): void {
    for (const k of [key, ...aliases]) {
      if (k.startsWith('u:') && !this.#meta('user_id')) this.#setMeta('user_id', k.slice(2));
      if (k.startsWith('e:') && !this.#meta('email')) this.#setMeta('email', k.slice(2));
    }
  }

  /**
   * Hands this object's history to lead `into` and forwards to it from now on. The events stay here until
   * `confirmAbsorbed`, so a merge interrupted half-way is simply done again (the receiver dedupes). Runs under
   * the lock, so a batch being stored here is either wholly in the hand-over or forwarded after it.
   */
  absorb(into: string): Promise<AbsorbResult> {
    return this.#exclusive(async () => {
      const fwd = this.#forwardTo();
      if (fwd && fwd !== into) return { accepted: false, events: [], aliases: [], forwardTo: fwd };
      const key = this.#meta('key');
      // An id already holding a more definite lead is not merged into a less definite one.
      if (key && rank(key) > rank(into) && !fwd) return { accepted: false, events: [], aliases: [] };
      this.#ensureSchema();
      this.#setMeta('forward_to', into);
      const events = this.#storedEvents();
      const aliases = all<{ alias: string }>(this.#sql, 'SELECT alias FROM aliases').map((r) => r.alias);
      return { accepted: true, events, aliases };
    });
  }

  confirmAbsorbed(into: string): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#forwardTo() !== into) return;
      for (const t of ['events', 'ledger', 'timed', 'checkpoints', 'levels', 'rollups']) this.#sql.exec(`DELETE FROM ${t}`);
      this.#sql.exec("DELETE FROM meta WHERE k NOT IN ('forward_to', 'key')");
      this.#metaCache = null;
      this.#scorer = null;
      this.#oldest = undefined;
      this.#persistedDays.clear();
      void this.ctx.storage.deleteAlarm();
      this.#alarmAt = null;
    });
  }

  /** Records what fell due up to `now` and sets the alarm for the next self-driven change. */
  #settle(now: number): TypeResult[] {
    const scorer = this.#loadScorer();
    const out = { ledger: [] as LedgerEntry[], changes: [] as LevelChange[] };
    const results = scorer.evaluate(now, out);
    for (const x of out.ledger) this.#insertTimed(x);
    for (const c of out.changes) this.#insertChange(c);
    const next = Math.min(...results.map((r) => r.nextChangeAt ?? Infinity), this.#compactionDue());
    const at = Number.isFinite(next) ? Math.max(next, now + 1) : null;
    if (at !== this.#alarmAt) {
      if (at === null) void this.ctx.storage.deleteAlarm();
      else void this.ctx.storage.setAlarm(at);
      this.#alarmAt = at;
    }
    return results;
  }

  #retentionMs(): number {
    return Number(this.env.RAW_RETENTION_DAYS ?? 400) * DAY_MS;
  }

  /** The oldest stored event's time, cached: only ingest (lowers it) and compaction (raises it) change it. */
  #oldest: number | undefined;
  /**
   * When compaction can next make progress: it cuts at a checkpoint, so when the first checkpoint after the
   * oldest stored event falls out of the retention. A lead without one (a single day) has nothing to compact.
   */
  #compactionDue(): number {
    this.#oldest ??= one<{ ts: number | null }>(this.#sql, 'SELECT MIN(ts) AS ts FROM events')?.ts ?? Infinity;
    const oldest = this.#oldest;
    const next = this.#loadScorer().checkpoints.find((c) => this.#model.days.start(c.day) > oldest);
    return next ? this.#model.days.start(next.day) + this.#retentionMs() : Infinity;
  }

  /**
   * Raw events older than the retention become day rollups (points and counts per rule), so storage stays
   * bounded. History stays rescorable from the newest checkpoint before the cut.
   */
  #compact(now: number): void {
    const scorer = this.#loadScorer();
    const cutDay = this.#model.days.day(now - this.#retentionMs());
    const base = [...scorer.checkpoints].reverse().find((c) => c.day <= cutDay);
    if (!base) return;
    const from = this.#model.days.start(base.day);
    this.#sql.exec(
      `INSERT INTO rollups (day, scoring_type, rule, points, events)
         SELECT CAST(ts / ${DAY_MS} AS INTEGER), scoring_type, rule, SUM(points), COUNT(*) FROM ledger WHERE ts < ? GROUP BY 1, 2, 3
       ON CONFLICT DO UPDATE SET points = points + excluded.points, events = events + excluded.events`,
      from,
    );
    this.#sql.exec('DELETE FROM ledger WHERE ts < ?', from);
    this.#sql.exec('DELETE FROM events WHERE ts < ?', from);
    this.#sql.exec('DELETE FROM checkpoints WHERE day < ?', base.day);
    scorer.checkpoints = scorer.checkpoints.filter((c) => c.day >= base.day);
    this.#persistedDays = new Set(scorer.checkpoints.map((c) => c.day));
    this.#setMeta('scorable_from', String(from));
    this.#oldest = undefined;
  }

  /** Idempotent: it may run twice, or late. */
  override async alarm(): Promise<void> {
    this.#alarmAt = undefined; // it has fired: whatever #settle computes must be set again
    if (!this.#ready || this.#forwardTo()) return;
    const now = Date.now();
    if (this.#compactionDue() <= now) this.#compact(now);
    if (this.#meta('state')) this.#settle(now);
  }

  #summary(r: TypeResult): LevelSummary {
    return {
      id: this.#publicId(),
      level: r.level,
      levelName: r.levelName,
      engagementScore: r.engagementScore,
      leadScore: r.leadScore,
      doNotContact: r.doNotContact,
    };
  }

  #publicId(): string {
    return this.#meta('user_id') ?? this.#meta('email') ?? idOfKey(this.#meta('key') ?? 'a:');
  }

  /** The lead's level only: what a site key may read about its own visitor. */
  async level(now = Date.now()): Promise<LevelSummary | null> {
    const fwd = this.#forwardTo();
    if (fwd) return this.#stub(fwd).level(now);
    if (!this.#meta('state')) return null;
    return this.#summary(this.#loadScorer().evaluate(now)[0]);
  }

  async view(now = Date.now()): Promise<LeadView | null> {
    const fwd = this.#forwardTo();
    if (fwd) return this.#stub(fwd).view(now);
    if (!this.#meta('state')) return null;
    const scorer = this.#loadScorer();
    const results = scorer.evaluate(now);
    const types = results.map((r, i) => this.#typeView(r, i, now));
    const aliases = all<{ alias: string }>(this.#sql, 'SELECT alias FROM aliases').map((r) => r.alias);
    const key = this.#meta('key')!;
    const anonymousIds = [key, ...aliases].filter((k) => k.startsWith('a:')).map(idOfKey);
    const count = one<{ n: number }>(this.#sql, 'SELECT COUNT(*) AS n FROM events')?.n ?? 0;
    const archivedCount = one<{ n: number }>(this.#sql, 'SELECT COALESCE(SUM(events), 0) AS n FROM rollups')?.n ?? 0;
    const history = all<{ scoring_type: string; ts: number; from_level: string; to_level: string; reason: string }>(
      this.#sql,
      'SELECT * FROM levels WHERE ts <= ? ORDER BY ts DESC LIMIT 50',
      now,
    ).map((h) => {
      const idx = this.#model.types.findIndex((t) => t.id === h.scoring_type);
      const t = this.#model.types[Math.max(0, idx)];
      const fake = { ...results[Math.max(0, idx)], reason: JSON.parse(h.reason), level: h.to_level, levelName: t.tierNames[t.tierIds.indexOf(h.to_level)] ?? h.to_level, levelSince: h.ts };
      return { scoringType: h.scoring_type, from: h.from_level, to: h.to_level, at: iso(h.ts)!, reason: describe(this.#model, fake, Math.max(0, idx)) };
    });
    const { scoringType: _s, name: _n, ...primary } = types[0];
    return {
      id: this.#publicId(),
      userId: this.#meta('user_id') ?? null,
      email: this.#meta('email') ?? null,
      anonymousIds,
      ...primary,
      firstSeenAt: iso(scorer.state.firstSeen),
      lastActivityAt: iso(results[0].lastActivityAt),
      events: Number(count) + Number(archivedCount),
      storageBytes: this.#sql.databaseSize,
      model: { id: this.#model.id, version: this.#model.version },
      scoringTypes: types,
      history,
    };
  }

  #typeView(r: TypeResult, i: number, now: number): TypeView {
    const t = this.#model.types[i];
    const from = this.#model.days.start(this.#model.days.day(now) - t.windowDays + 1);
    const contributions = all<{ rule: string; pts: number; n: number; last: number }>(
      this.#sql,
      'SELECT rule, SUM(points) AS pts, COUNT(*) AS n, MAX(ts) AS last FROM ledger WHERE scoring_type = ? AND ts >= ? AND ts <= ? AND points != 0 GROUP BY rule ORDER BY ABS(SUM(points)) DESC LIMIT 5',
      t.id, from, now,
    );
    const ruleName = (id: string) => t.rules.find((x) => x.id === id)?.name ?? id;
    const reasons: Reason[] = [
      describe(this.#model, r, i),
      ...contributions.map((c) => ({
        kind: 'points',
        text: `${ruleName(c.rule)}: ${c.pts > 0 ? '+' : ''}${c.pts} (${c.n} event${c.n === 1 ? '' : 's'} in the last ${t.windowDays} days)`,
        points: c.pts,
        at: iso(c.last) ?? undefined,
      })),
    ];
    return {
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
      reasons,
    };
  }

  /** The lead's events, newest first, with the points each earned and why. */
  async events(limit: number, cursor: { ts: number; id: string } | null, now = Date.now()): Promise<EventsPage | null> {
    const fwd = this.#forwardTo();
    if (fwd) return this.#stub(fwd).events(limit, cursor, now);
    if (!this.#meta('state')) return null;
    const rows = cursor
      ? all<{ message_id: string; ts: number; received_at: number; body: string }>(
          this.#sql,
          'SELECT * FROM events WHERE ts < ? OR (ts = ? AND message_id < ?) ORDER BY ts DESC, message_id DESC LIMIT ?',
          cursor.ts, cursor.ts, cursor.id, limit + 1,
        )
      : all<{ message_id: string; ts: number; received_at: number; body: string }>(this.#sql, 'SELECT * FROM events ORDER BY ts DESC, message_id DESC LIMIT ?', limit + 1);
    const page = rows.slice(0, limit);
    const today = this.#model.days.day(now);
    const events = page.map((row): EventView => {
      const e = JSON.parse(row.body) as LeadEvent;
      const ledger = all<{ scoring_type: string; rule: string; points: number; base: number; clipped_by: string | null; ts: number }>(
        this.#sql,
        'SELECT * FROM ledger WHERE message_id = ?',
        row.message_id,
      );
      const reasons = ledger.map((x) => {
        const t = this.#model.types.find((tt) => tt.id === x.scoring_type);
        const inWindow = !!t && this.#model.days.day(x.ts) >= today - t.windowDays + 1;
        const r: EventView['reasons'][number] = {
          scoringType: x.scoring_type,
          rule: x.rule,
          ruleName: t?.rules.find((rr) => rr.id === x.rule)?.name ?? x.rule,
          points: x.points,
          base: x.base,
          inWindow,
        };
        if (x.clipped_by) r.clippedBy = x.clipped_by;
        return r;
      });
      const v: EventView = {
        messageId: e.messageId,
        type: e.type,
        event: e.event ?? null,
        properties: e.properties,
        timestamp: iso(e.timestamp)!,
        receivedAt: iso(row.received_at)!,
        points: reasons.filter((x) => x.scoringType === this.#model.types[0].id).reduce((s, x) => s + x.points, 0),
        reasons,
      };
      if (e.timeNote) v.timeNote = e.timeNote;
      return v;
    });
    const last = page[page.length - 1];
    return { events, next: rows.length > limit && last ? { ts: last.ts, id: last.message_id } : null };
  }

  /** Storage used by this lead, for the benchmark and for operators. */
  storageBytes(): number {
    return this.#sql.databaseSize;
  }
}

type EventsPage = { events: EventView[]; next: { ts: number; id: string } | null };
export type AbsorbResult = { accepted: boolean; events: LeadEvent[]; aliases: string[]; forwardTo?: string };

/** The object's RPC surface, spelled out: the inferred RPC types of these results are too deep for tsc. */
export interface LeadStub {
  ingest(input: IngestInput): Promise<IngestResult>;
  absorb(into: string): Promise<AbsorbResult>;
  confirmAbsorbed(into: string): Promise<void>;
  level(now?: number): Promise<LevelSummary | null>;
  view(now?: number): Promise<LeadView | null>;
  events(limit: number, cursor: { ts: number; id: string } | null, now?: number): Promise<EventsPage | null>;
  storageBytes(): Promise<number>;
}

export const leadStub = (env: Env, key: string) => env.LEAD.getByName(key) as unknown as LeadStub;

const FORWARD = Symbol('forward');

/** userId leads are the most definite, then email, then anonymous. */
const rank = (key: string) => (key.startsWith('u:') ? 3 : key.startsWith('e:') ? 2 : 1);

/** JSON turns ±Infinity into null; the engine's state uses -Infinity as "never". */
function revive<T>(state: T): T {
  const s = state as unknown as { clock: number | null; types: { capDay: number | null }[] };
  if (s.clock === null) s.clock = -Infinity;
  for (const t of s.types) if (t.capDay === null) t.capDay = -Infinity;
  return state;
}

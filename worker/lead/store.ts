/**
 * The lead's SQLite storage: the only file with SQL in it. Every capability of the object (scoring, timers,
 * the outbox, merges, retention, rate limits, reads) reaches its tables through the methods here, so the
 * schema, its migrations and the cost of each statement can be read in one place.
 *
 * Writes made with no `await` between them commit together (the Durable Object's implicit transaction), so a
 * fold's output, its level history, its outbox rows and its timers land as one or not at all.
 */
import { compareEvents, parseState, serializeState, type LeadState, type LevelChange, type LevelReason } from '../../shared/engine.js';
import type { LearnState } from '../../shared/learn/record.js';
import type { HandedNotification, SlaRecord } from '../../shared/api.js';
import type { LeadEvent } from '../../shared/events.js';
import type { Hold } from '../../shared/holding.js';
import type { Checkpoint } from '../../shared/scorer.js';

/** A table made again WITHOUT ROWID under its own name, its rows kept (SQLite cannot alter that in place). */
function withoutRowid(table: string, definition: string, columns: string): string {
  return `CREATE TABLE ${table}_new (${definition}) WITHOUT ROWID;
   INSERT INTO ${table}_new (${columns}) SELECT ${columns} FROM ${table};
   DROP TABLE ${table};
   ALTER TABLE ${table}_new RENAME TO ${table};`;
}

/** Append-only: a deployed object applies the ones it has not seen, in order. Never edit a shipped one. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
   CREATE TABLE events (message_id TEXT PRIMARY KEY, ts INTEGER NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL);
   CREATE INDEX events_ts ON events (ts);
   CREATE TABLE ledger (message_id TEXT NOT NULL, scoring_type TEXT NOT NULL, rule TEXT NOT NULL, points REAL NOT NULL,
     base REAL NOT NULL, clipped_by TEXT, ts INTEGER NOT NULL);
   CREATE INDEX ledger_msg ON ledger (message_id);
   CREATE INDEX ledger_ts ON ledger (scoring_type, ts);
   CREATE TABLE timed (scoring_type TEXT NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL, points REAL NOT NULL, note TEXT,
     PRIMARY KEY (scoring_type, kind, ts));
   CREATE TABLE checkpoints (day INTEGER PRIMARY KEY, state TEXT NOT NULL);
   CREATE TABLE levels (scoring_type TEXT NOT NULL, ts INTEGER NOT NULL, from_level TEXT NOT NULL, to_level TEXT NOT NULL,
     reason TEXT NOT NULL, PRIMARY KEY (scoring_type, ts, to_level));
   CREATE TABLE aliases (alias TEXT PRIMARY KEY, confirmed INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE rollups (day INTEGER NOT NULL, scoring_type TEXT NOT NULL, rule TEXT NOT NULL, points REAL NOT NULL,
     events INTEGER NOT NULL, PRIMARY KEY (day, scoring_type, rule));`,
  // The ledger is derived on read (a refold from the nearest checkpoint) instead of written per event; due
  // times are rows deriving the one alarm; the outbox holds what other systems must be told; the rate limit
  // survives evictions. Archived events keep their row (with an empty body) so their ids stay deduplicated.
  `DROP TABLE ledger;
   DROP TABLE timed;
   CREATE TABLE timers (kind TEXT NOT NULL, key TEXT NOT NULL, due_at INTEGER NOT NULL, payload TEXT,
     PRIMARY KEY (kind, key)) WITHOUT ROWID;
   CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, dest TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT);
   CREATE INDEX outbox_dest ON outbox (dest, seq);
   CREATE TABLE buckets (name TEXT PRIMARY KEY, tokens REAL NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;`,
  // The lead's profile (profile.ts): the latest value of each trait, and the accounts (Segment groups) it is in.
  `CREATE TABLE traits (name TEXT PRIMARY KEY, value TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE accounts (group_id TEXT PRIMARY KEY, traits TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;`,
  // Fewer pages per commit and per lead: tables keyed by text become WITHOUT ROWID (one b-tree instead of a
  // table and its key's index), the level history is keyed by time first (what its reads and rewinds ask),
  // and the outbox, a handful of rows, loses its index.
  [
    withoutRowid('meta', 'k TEXT PRIMARY KEY, v TEXT NOT NULL', 'k, v'),
    withoutRowid(
      'levels',
      'scoring_type TEXT NOT NULL, ts INTEGER NOT NULL, from_level TEXT NOT NULL, to_level TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (ts, scoring_type, to_level)',
      'scoring_type, ts, from_level, to_level, reason',
    ),
    withoutRowid('aliases', 'alias TEXT PRIMARY KEY, confirmed INTEGER NOT NULL DEFAULT 0', 'alias, confirmed'),
    withoutRowid(
      'rollups',
      'day INTEGER NOT NULL, scoring_type TEXT NOT NULL, rule TEXT NOT NULL, points REAL NOT NULL, events INTEGER NOT NULL, PRIMARY KEY (day, scoring_type, rule)',
      'day, scoring_type, rule, points, events',
    ),
    'DROP INDEX outbox_dest;',
  ].join('\n'),
  // Machines held back (holding.ts): an event's hold (JSON: signal, reason, permanent) and when a person's
  // behaviour released it. Held rows only are indexed: a release looks for them, every other lead has none.
  `ALTER TABLE events ADD COLUMN held TEXT;
   ALTER TABLE events ADD COLUMN released_at INTEGER;
   CREATE INDEX events_held ON events (ts) WHERE held IS NOT NULL;`,
  // Response SLAs (sla.ts): one row per team the lead was routed to, the latest SLA of that team.
  `CREATE TABLE slas (team TEXT PRIMARY KEY, scoring_type TEXT NOT NULL, level TEXT NOT NULL, started_at INTEGER NOT NULL,
     due_at INTEGER NOT NULL, state TEXT NOT NULL, met_at INTEGER, met_by TEXT, note TEXT, breached_at INTEGER, closed_at INTEGER) WITHOUT ROWID;`,
];

/**
 * What MIGRATIONS make, in one go, for an object with no schema yet (most objects are new visitors): a first
 * batch then runs a dozen statements instead of forty. A test holds it equal to the migrated schema.
 */
export const SCHEMA = `CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE events (message_id TEXT PRIMARY KEY, ts INTEGER NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL, held TEXT, released_at INTEGER);
   CREATE INDEX events_ts ON events (ts);
   CREATE INDEX events_held ON events (ts) WHERE held IS NOT NULL;
   CREATE TABLE checkpoints (day INTEGER PRIMARY KEY, state TEXT NOT NULL);
   CREATE TABLE levels (scoring_type TEXT NOT NULL, ts INTEGER NOT NULL, from_level TEXT NOT NULL, to_level TEXT NOT NULL,
     reason TEXT NOT NULL, PRIMARY KEY (ts, scoring_type, to_level)) WITHOUT ROWID;
   CREATE TABLE aliases (alias TEXT PRIMARY KEY, confirmed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
   CREATE TABLE rollups (day INTEGER NOT NULL, scoring_type TEXT NOT NULL, rule TEXT NOT NULL, points REAL NOT NULL,
     events INTEGER NOT NULL, PRIMARY KEY (day, scoring_type, rule)) WITHOUT ROWID;
   CREATE TABLE timers (kind TEXT NOT NULL, key TEXT NOT NULL, due_at INTEGER NOT NULL, payload TEXT,
     PRIMARY KEY (kind, key)) WITHOUT ROWID;
   CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, dest TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT);
   CREATE TABLE buckets (name TEXT PRIMARY KEY, tokens REAL NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE traits (name TEXT PRIMARY KEY, value TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE accounts (group_id TEXT PRIMARY KEY, traits TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE slas (team TEXT PRIMARY KEY, scoring_type TEXT NOT NULL, level TEXT NOT NULL, started_at INTEGER NOT NULL,
     due_at INTEGER NOT NULL, state TEXT NOT NULL, met_at INTEGER, met_by TEXT, note TEXT, breached_at INTEGER, closed_at INTEGER) WITHOUT ROWID;`;

/** Durable Object SQL takes at most 100 bound parameters a statement. */
const MAX_PARAMS = 100;

export interface StoredEvent extends LeadEvent {
  receivedAt: number;
  /** Insertion order: what a merge pages by, so events stored while it runs are handed over too. */
  seq: number;
  /** Held back as a machine's (holding.ts), and when a person's behaviour released it, if it did. */
  held?: StoredHold;
}

export interface StoredHold extends Hold {
  releasedAt: number | null;
}

type EventRow = { message_id: string; ts: number; received_at: number; body: string; seq: number; held?: string | null; released_at?: number | null };

/** Events the engine folds: not held, or released. */
const SCORABLE = "body != '' AND (held IS NULL OR released_at IS NOT NULL)";

export interface LevelRow {
  scoringType: string;
  at: number;
  from: string;
  to: string;
  reason: LevelReason;
}

export interface TimerRow {
  kind: string;
  key: string;
  dueAt: number;
  payload: string | null;
}

/** An outbox row: its place in the queue and what a merge would hand over of it. */
export interface OutboxRow extends HandedNotification {
  seq: number;
}

/** A response SLA row (sla.ts); a merge hands these over as they are. */
export type SlaRow = SlaRecord;

export interface RollupRow {
  day: number;
  scoringType: string;
  rule: string;
  points: number;
  events: number;
}

type Row = Record<string, SqlStorageValue>;

/** The meta rows of a compact state (Store.state): the state, and its learning record when it has one. */
export function stateMetas(s: LeadState): Record<string, string> {
  const rows: Record<string, string> = { state: serializeState({ ...s, learn: undefined }) };
  if (s.learn) rows.learn = JSON.stringify(s.learn);
  return rows;
}

export class Store {
  readonly #sql: SqlStorage;
  #ready: boolean;
  /** The meta table, read once per object life: every request consults it. */
  #meta: Map<string, string> | null = null;
  /** Rate-limit buckets as stored, read once per object life (this object is their only writer). */
  #buckets = new Map<string, { tokens: number; at: number } | null>();
  /** The oldest event time still held with its body; undefined until asked (retention asks at every batch). */
  #oldest: number | null | undefined;
  /** Checkpoints as stored, serialized: a commit writes only the ones whose state changed. */
  #checkpointText = new Map<number, string>();
  #checkpointsRead = false;

  constructor(readonly storage: DurableObjectStorage) {
    this.#sql = storage.sql;
    // Reading an id nobody wrote must not create storage: the schema is made on the first write.
    const tables = new Set(this.#all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('meta', '_migrations')").map((r) => r.name));
    this.#ready = tables.has('meta');
    if (this.#ready) this.#migrate(tables.has('_migrations'));
  }

  /** Whether anything was ever written here. */
  get exists(): boolean {
    return this.#ready;
  }

  /** Bytes of SQLite storage (for operators and the benchmark). */
  get bytes(): number {
    return this.#sql.databaseSize;
  }

  #all<T = Row>(query: string, ...params: SqlStorageValue[]): T[] {
    return this.#sql.exec(query, ...params).toArray() as T[];
  }

  #one<T = Row>(query: string, ...params: SqlStorageValue[]): T | undefined {
    return this.#all<T>(query, ...params)[0];
  }

  /**
   * The migrations done are a number in `meta` (`schema`, the last one applied): a table of its own would cost
   * every lead a page. Objects from before kept them in `_migrations`, which their next start folds in here.
   */
  #migrate(legacy = false): void {
    // The number comes with the meta cache, which nearly every call reads next anyway.
    const done = legacy ? this.#one<{ n: number }>('SELECT COALESCE(MAX(id), -1) AS n FROM _migrations')!.n : Number(this.meta('schema') ?? -1);
    if (done === -1) this.#sql.exec(SCHEMA);
    else {
      for (let i = done + 1; i < MIGRATIONS.length; i++) this.#sql.exec(MIGRATIONS[i]);
      if (done < MIGRATIONS.length - 1) this.#meta = null; // read before the migrations changed its table
    }
    if (legacy) this.#sql.exec('DROP TABLE _migrations');
    const last = String(MIGRATIONS.length - 1);
    if (!legacy && String(done) === last) return;
    this.#sql.exec("INSERT INTO meta (k, v) VALUES ('schema', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", last);
    this.#meta?.set('schema', last);
  }

  #write(): void {
    if (!this.#ready) this.#migrate();
    this.#ready = true;
  }

  /** One multi-row INSERT per chunk instead of a statement per row: each statement crosses into the runtime. */
  #insertRows(head: string, rows: SqlStorageValue[][], tail = ''): void {
    if (!rows.length) return;
    const width = rows[0].length;
    const per = Math.floor(MAX_PARAMS / width);
    const tuple = `(${Array(width).fill('?').join(', ')})`;
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      this.#sql.exec(`${head} VALUES ${chunk.map(() => tuple).join(', ')} ${tail}`, ...chunk.flat());
    }
  }

  // --- meta: the lead's identity, its compact state, the retention horizon -------------------------------

  meta(k: string): string | undefined {
    if (!this.#ready) return undefined;
    this.#meta ??= new Map(this.#all<{ k: string; v: string }>('SELECT k, v FROM meta').map((r) => [r.k, r.v]));
    return this.#meta.get(k);
  }

  setMeta(k: string, v: string): void {
    if (this.meta(k) === v) return;
    this.#write();
    this.#sql.exec('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v', k, v);
    this.#meta?.set(k, v);
  }

  /** Several meta values in one statement (a batch's state, summary and settled time land together). */
  setMetas(entries: Record<string, string>): void {
    const changed = Object.entries(entries).filter(([k, v]) => this.meta(k) !== v);
    if (!changed.length) return;
    this.#write();
    this.#insertRows('INSERT INTO meta (k, v)', changed, 'ON CONFLICT (k) DO UPDATE SET v = excluded.v');
    for (const [k, v] of changed) this.#meta?.set(k, v);
  }

  deleteMeta(k: string): void {
    if (this.meta(k) === undefined) return;
    this.#sql.exec('DELETE FROM meta WHERE k = ?', k);
    this.#meta?.delete(k);
  }

  /**
   * The compact state is two meta rows: `state`, and its learning record apart in `learn` (each row then stays
   * within what a page holds in line, about 1 KB, instead of spilling onto an overflow page of its own).
   */
  state(): LeadState | null {
    const s = this.meta('state');
    if (!s) return null;
    const state = parseState(s);
    const learn = this.meta('learn');
    if (learn) state.learn = JSON.parse(learn) as LearnState;
    return state;
  }

  setState(s: LeadState): void {
    this.setMetas(stateMetas(s));
  }

  // --- events: the raw log ---------------------------------------------------------------------------------

  /** Rows of `events` with these ids (`columns` of them), in one query per 100 ids. */
  #eventRows<T>(columns: string, ids: string[]): T[] {
    const rows: T[] = [];
    if (!this.#ready) return rows;
    for (let i = 0; i < ids.length; i += MAX_PARAMS) {
      const chunk = ids.slice(i, i + MAX_PARAMS);
      rows.push(...this.#all<T>(`SELECT ${columns} FROM events WHERE message_id IN (${chunk.map(() => '?').join(',')})`, ...chunk));
    }
    return rows;
  }

  /** Which of these ids are stored here (archived ones too). */
  known(ids: string[]): Set<string> {
    return new Set(this.#eventRows<{ message_id: string }>('message_id', ids).map((r) => r.message_id));
  }

  /** Whether a retained event is a track of one of these names (an archived one has no body to tell). */
  tracked(names: readonly string[]): boolean {
    if (!this.exists || !names.length) return false;
    const q = `SELECT 1 AS x FROM events WHERE body != '' AND CASE WHEN body = '' THEN NULL ELSE json_extract(body, '$.event') END IN (${names.map(() => '?').join(', ')}) LIMIT 1`;
    return this.#one(q, ...names) !== undefined;
  }

  /** The stored form of an event's body: everything but the id and time, which live in columns. */
  static body({ messageId: _id, timestamp: _ts, ...rest }: LeadEvent): string {
    return JSON.stringify(rest);
  }

  /** Time and stored body of those of these ids stored here ('' for an archived one). */
  storedBodies(ids: string[]): Map<string, { ts: number; body: string }> {
    return new Map(this.#eventRows<{ message_id: string; ts: number; body: string }>('message_id, ts, body', ids).map((r) => [r.message_id, { ts: r.ts, body: r.body }]));
  }

  /**
   * Stores the events whose ids are not stored yet and says which those were: the dedupe is the insert itself
   * (no look-up first). The id and time live in columns, so the body holds only the rest. Events before
   * `horizon` (older than the retained history) keep only their id, so a retry is still a duplicate, with no
   * body (they can no longer be rescored). Of two events with one id in a batch, the first is stored.
   */
  insertEvents(events: readonly LeadEvent[], receivedAt: number, horizon: number): Set<string> {
    const stored = new Set<string>();
    if (!events.length) return stored;
    this.#write();
    const rows = events.map((e) => [e.messageId, e.timestamp, receivedAt, e.timestamp < horizon ? '' : Store.body(e)]);
    const per = Math.floor(MAX_PARAMS / 4);
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      const sql = `INSERT INTO events (message_id, ts, received_at, body) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}
        ON CONFLICT (message_id) DO NOTHING RETURNING message_id`;
      for (const r of this.#sql.exec<{ message_id: string }>(sql, ...chunk.flat())) stored.add(r.message_id);
    }
    if (this.#oldest !== undefined) {
      for (const e of events) if (e.timestamp >= horizon && stored.has(e.messageId) && (this.#oldest === null || e.timestamp < this.#oldest)) this.#oldest = e.timestamp;
    }
    return stored;
  }

  static #event(r: EventRow): StoredEvent {
    // Rows written before bodies dropped their id and time carry them in the body too; the columns win.
    const e: StoredEvent = { ...(JSON.parse(r.body) as LeadEvent), messageId: r.message_id, timestamp: r.ts, receivedAt: r.received_at, seq: r.seq };
    if (r.held) e.held = { ...(JSON.parse(r.held) as Hold), releasedAt: r.released_at ?? null };
    return e;
  }

  /**
   * Events in engine order (time, then id) strictly after (t, id), up to time `until`, read a page at a time
   * so a long history is never in memory at once. Archived rows (no body) are before every checkpoint and
   * never returned, nor are held ones (holding.ts): they earn nothing until released. Released ones carry their
   * hold (the ledger shows when they were released).
   */
  *eventsAfter(t: number, id: string, until = Infinity, page = 500): Generator<StoredEvent> {
    let at = Number.isFinite(t) ? t : Number.MIN_SAFE_INTEGER;
    let after = Number.isFinite(t) ? id : '';
    const end = Number.isFinite(until) ? until : Number.MAX_SAFE_INTEGER;
    // A late event's refold usually stops a day later, where it rejoins the old fold: the first page is small,
    // later ones grow to `page`; bodies are parsed only as events are taken.
    let size = Math.min(page, 64);
    type Row = EventRow;
    const order = (a: Row, b: Row) => compareEvents({ timestamp: a.ts, messageId: a.message_id } as LeadEvent, { timestamp: b.ts, messageId: b.message_id } as LeadEvent);
    const later = (r: Row) => r.ts > at || r.message_id > after;
    for (;;) {
      // Ordered in JS by the engine's own comparison below; SQLite orders ts first so pages do not overlap.
      const read = this.#all<Row>(
        `SELECT rowid AS seq, message_id, ts, received_at, body, held, released_at FROM events
          WHERE ts >= ? AND ts <= ? AND ${SCORABLE} ORDER BY ts, message_id LIMIT ?`,
        at, end, size + 1,
      );
      // Same-time ids: SQLite's collation and JS's comparison agree for the ASCII ids clients send, but the
      // engine is the judge, so each page is sorted its way.
      const rows = read.filter(later).sort(order);
      if (read.length <= size) {
        for (const r of rows) yield Store.#event(r);
        return;
      }
      // Hold back the last timestamp of a full page: more rows of that instant may follow.
      const lastTs = read[read.length - 1].ts;
      const ready = rows.filter((r) => r.ts < lastTs);
      for (const r of ready) yield Store.#event(r);
      if (!ready.length) {
        // A page's worth of events at one instant: take the whole instant at once.
        const same = this.#all<Row>(`SELECT rowid AS seq, message_id, ts, received_at, body, held, released_at FROM events WHERE ts = ? AND ${SCORABLE}`, lastTs).filter(later).sort(order);
        for (const r of same) yield Store.#event(r);
        at = lastTs;
        after = '\uffff';
      } else {
        const last = ready[ready.length - 1];
        at = last.ts;
        after = last.message_id;
      }
      size = Math.min(page, size * 4);
    }
  }

  /** Events by insertion order after `seq` (a merge's pages). */
  eventsBySeq(afterSeq: number, limit: number): StoredEvent[] {
    if (!this.#ready) return [];
    return this.#all<{ message_id: string; ts: number; received_at: number; body: string; seq: number }>(
      "SELECT rowid AS seq, message_id, ts, received_at, body FROM events WHERE rowid > ? AND body != '' ORDER BY rowid LIMIT ?",
      afterSeq, limit,
    ).map(Store.#event);
  }

  /** A page of events, newest first, held ones too, for the events listing. */
  eventsNewestFirst(limit: number, before: { ts: number; id: string } | null): StoredEvent[] {
    if (!this.#ready) return [];
    const rows = before
      ? this.#all<EventRow>(
          `SELECT rowid AS seq, message_id, ts, received_at, body, held, released_at FROM events
            WHERE body != '' AND (ts < ? OR (ts = ? AND message_id < ?)) ORDER BY ts DESC, message_id DESC LIMIT ?`,
          before.ts, before.ts, before.id, limit,
        )
      : this.#all<EventRow>(
          "SELECT rowid AS seq, message_id, ts, received_at, body, held, released_at FROM events WHERE body != '' ORDER BY ts DESC, message_id DESC LIMIT ?",
          limit,
        );
    return rows.map(Store.#event);
  }

  // --- holds: machines' events, stored but not scored until released (holding.ts) ----------------------------

  /** Email opens, clicks and deliveries from `from` to `to`, held ones too: what the timing signals compare. */
  emailEventsBetween(from: number, to: number): StoredEvent[] {
    return this.#all<EventRow>(
      `SELECT rowid AS seq, message_id, ts, received_at, body, held, released_at FROM events
        WHERE ts >= ? AND ts <= ? AND body LIKE '%"event":"Email %' ORDER BY ts, message_id`,
      from, to,
    ).map(Store.#event);
  }

  /** Held events not released, up to time `until` (the held rows' own index). */
  openHolds(until: number): StoredEvent[] {
    if (!this.#ready) return [];
    return this.#all<EventRow>(
      `SELECT rowid AS seq, message_id, ts, received_at, body, held, released_at FROM events
        WHERE held IS NOT NULL AND released_at IS NULL AND ts <= ? AND body != ''`,
      until,
    ).map(Store.#event);
  }

  /** Forgets every hold (a new model judges the history again, holding.ts `rejudge`). */
  clearHolds(): void {
    if (this.#ready) this.#sql.exec('UPDATE events SET held = NULL, released_at = NULL WHERE held IS NOT NULL');
  }

  /** Writes holds: released at `releasedAt`, or still held when it is null. */
  setHolds(rows: readonly { messageId: string; hold: Hold; releasedAt: number | null }[]): void {
    for (const r of rows) {
      this.#sql.exec('UPDATE events SET held = ?, released_at = ? WHERE message_id = ?', JSON.stringify({ signal: r.hold.signal, reason: r.hold.reason, permanent: r.hold.permanent }), r.releasedAt, r.messageId);
    }
  }

  release(ids: readonly string[], at: number): void {
    for (let i = 0; i < ids.length; i += MAX_PARAMS - 1) {
      const chunk = ids.slice(i, i + MAX_PARAMS - 1);
      this.#sql.exec(`UPDATE events SET released_at = ? WHERE message_id IN (${chunk.map(() => '?').join(',')})`, at, ...chunk);
    }
  }

  /** How many events are held, per signal, and whether released (the lead read's counts). */
  holdCounts(): { signal: string; released: boolean; permanent: boolean; n: number }[] {
    if (!this.#ready) return [];
    return this.#all<{ signal: string; released: number; permanent: number; n: number }>(
      `SELECT json_extract(held, '$.signal') AS signal, released_at IS NOT NULL AS released, json_extract(held, '$.permanent') AS permanent, COUNT(*) AS n
        FROM events WHERE held IS NOT NULL GROUP BY 1, 2, 3`,
    ).map((r) => ({ signal: r.signal, released: !!r.released, permanent: !!r.permanent, n: r.n }));
  }

  /** How many events the lead holds, archived ones included. */
  eventCount(): number {
    if (!this.#ready) return 0;
    return this.#one<{ n: number }>('SELECT COUNT(*) AS n FROM events')!.n;
  }

  /** The oldest event still held with its body. */
  oldestEventTime(): number | null {
    if (!this.#ready) return null;
    this.#oldest ??= this.#one<{ ts: number | null }>("SELECT MIN(ts) AS ts FROM events WHERE body != ''")?.ts ?? null;
    return this.#oldest;
  }

  /**
   * For attribution.ts's one-time backfill of a lead stored before it: the earliest stored page view (screens are stored as pages)
   * and the earliest event of each of these names, as stored events. Read once per lead, then kept in meta.
   */
  firstEvents(names: readonly string[]): LeadEvent[] {
    if (!this.#ready) return [];
    type R = { message_id: string; ts: number; body: string };
    const rows = [
      this.#one<R>("SELECT message_id, ts, body FROM events WHERE body != '' AND json_extract(body, '$.type') = 'page' ORDER BY ts LIMIT 1"),
      ...names.map((n) => this.#one<R>("SELECT message_id, ts, body FROM events WHERE body != '' AND json_extract(body, '$.event') = ? ORDER BY ts LIMIT 1", n)),
    ];
    return rows.filter((r): r is R => !!r).map((r) => ({ ...(JSON.parse(r.body) as LeadEvent), messageId: r.message_id, timestamp: r.ts }));
  }

  /** Compaction: events before `cut` keep their id (for dedupe) and lose their body. */
  archiveBefore(cut: number): void {
    this.#sql.exec("UPDATE events SET body = '' WHERE ts < ? AND body != ''", cut);
    this.#oldest = undefined;
  }

  // --- checkpoints: whole compact states at the first event of a day, and marks within busy days -------------
  // One table for both (a table of its own would cost every lead a page): a day's checkpoint is keyed by the
  // day number, a mark (shared/scorer.ts) by minus its clock — days are small positive numbers, clocks are
  // epoch milliseconds, so the two never meet.

  checkpoints(): { days: Checkpoint[]; marks: LeadState[] } {
    this.#checkpointText.clear();
    this.#checkpointsRead = true;
    const out = { days: [] as Checkpoint[], marks: [] as LeadState[] };
    if (!this.#ready) return out;
    // Ascending keys: the marks newest first, then the days oldest first.
    for (const c of this.#all<{ day: number; state: string }>('SELECT day, state FROM checkpoints ORDER BY day')) {
      this.#checkpointText.set(c.day, c.state);
      if (c.day < 0) out.marks.unshift(parseState(c.state));
      else out.days.push({ day: c.day, state: parseState(c.state) });
    }
    return out;
  }

  /**
   * Makes the stored checkpoints and marks these (as last read or written), writing only those that are new or
   * whose state changed: an in-order batch writes none unless it opens a day or makes a mark, a late one only
   * what it changed. `from`: checkpoints of earlier days are known not to have changed; `marksFrom`: marks of
   * earlier instants.
   */
  syncCheckpoints(checkpoints: readonly Checkpoint[], marks: readonly LeadState[], from = Number.MIN_SAFE_INTEGER, marksFrom = -Infinity): void {
    // A rescore that never loaded them still replaces every stored one.
    if (!this.#checkpointsRead) this.checkpoints();
    const stored = this.#checkpointText;
    const now = [...checkpoints, ...marks.map((state) => ({ day: -state.clock, state }))];
    const days = new Set(now.map((c) => c.day));
    const gone = [...stored.keys()].filter((d) => !days.has(d));
    for (let i = 0; i < gone.length; i += MAX_PARAMS) {
      const chunk = gone.slice(i, i + MAX_PARAMS);
      this.#sql.exec(`DELETE FROM checkpoints WHERE day IN (${chunk.map(() => '?').join(',')})`, ...chunk);
    }
    for (const d of gone) stored.delete(d);
    const rows: SqlStorageValue[][] = [];
    for (const c of now) {
      // Stored checkpoints of days before `from`, and stored marks before the instant `marksFrom`, are unchanged.
      if (stored.has(c.day) && (c.day >= 0 ? c.day < from : -c.day < marksFrom)) continue;
      const text = serializeState(c.state);
      if (stored.get(c.day) === text) continue;
      rows.push([c.day, text]);
      stored.set(c.day, text);
    }
    if (rows.length) this.#write();
    this.#insertRows('INSERT INTO checkpoints (day, state)', rows, 'ON CONFLICT (day) DO UPDATE SET state = excluded.state');
  }

  // --- levels: the level history ---------------------------------------------------------------------------

  /**
   * Level changes after `from` (up to `until`) were derived again: they replace what was stored for that
   * stretch. Only rows that differ are written: a refold that derives the same changes again touches nothing.
   */
  replaceLevelsFrom(from: number, changes: readonly LevelChange[], until = Infinity): void {
    const after = Number.isFinite(from) ? from : Number.MIN_SAFE_INTEGER;
    const end = Number.isFinite(until) ? until : Number.MAX_SAFE_INTEGER;
    const key = (c: { scoringType: string; at: number; to: string }) => `${c.at}\u0000${c.scoringType}\u0000${c.to}`;
    const rows = (changes: readonly LevelChange[]) => changes.map((c) => [c.scoringType, c.at, c.from, c.to, JSON.stringify(c.reason)] as SqlStorageValue[]);
    const stored = new Map(
      this.#all<{ scoring_type: string; ts: number; from_level: string; to_level: string; reason: string }>(
        'SELECT scoring_type, ts, from_level, to_level, reason FROM levels WHERE ts > ? AND ts <= ?', after, end,
      ).map((r) => [key({ scoringType: r.scoring_type, at: r.ts, to: r.to_level }), `${r.from_level}\u0000${r.reason}`]),
    );
    const fresh: LevelChange[] = [];
    const seen = new Set<string>();
    for (const c of changes) {
      const k = key(c);
      // Of two changes at one instant to one level, the first is kept (as INSERT OR IGNORE did).
      if (seen.has(k)) continue;
      seen.add(k);
      const was = stored.get(k);
      stored.delete(k);
      if (was !== `${c.from}\u0000${JSON.stringify(c.reason)}`) fresh.push(c);
    }
    for (const k of stored.keys()) {
      const [ts, scoringType, to] = k.split('\u0000');
      this.#sql.exec('DELETE FROM levels WHERE ts = ? AND scoring_type = ? AND to_level = ?', Number(ts), scoringType, to);
    }
    this.#insertRows(
      'INSERT INTO levels (scoring_type, ts, from_level, to_level, reason)',
      rows(fresh),
      'ON CONFLICT (ts, scoring_type, to_level) DO UPDATE SET from_level = excluded.from_level, reason = excluded.reason',
    );
  }

  addLevels(changes: readonly LevelChange[]): void {
    this.#insertRows(
      'INSERT OR IGNORE INTO levels (scoring_type, ts, from_level, to_level, reason)',
      changes.map((c) => [c.scoringType, c.at, c.from, c.to, JSON.stringify(c.reason)]),
    );
  }

  levels(until: number, limit: number): LevelRow[] {
    return this.#all<{ scoring_type: string; ts: number; from_level: string; to_level: string; reason: string }>(
      'SELECT scoring_type, ts, from_level, to_level, reason FROM levels WHERE ts <= ? ORDER BY ts DESC LIMIT ?',
      until, limit,
    ).map((h) => ({ scoringType: h.scoring_type, at: h.ts, from: h.from_level, to: h.to_level, reason: JSON.parse(h.reason) as LevelReason }));
  }

  // --- aliases: the other ids merged into this lead ---------------------------------------------------------

  /** Which of these ids were merged in, and whether each merge finished. */
  aliasStatus(ids: readonly string[]): Map<string, boolean> {
    const out = new Map<string, boolean>();
    if (!this.#ready || !ids.length) return out;
    for (const r of this.#all<{ alias: string; confirmed: number }>(`SELECT alias, confirmed FROM aliases WHERE alias IN (${ids.map(() => '?').join(',')})`, ...ids)) {
      out.set(r.alias, r.confirmed === 1);
    }
    return out;
  }

  addAliases(ids: readonly string[], confirmed: boolean): void {
    this.#write();
    this.#insertRows('INSERT INTO aliases (alias, confirmed)', ids.map((a) => [a, confirmed ? 1 : 0]), 'ON CONFLICT (alias) DO UPDATE SET confirmed = MAX(confirmed, excluded.confirmed)');
  }

  removeAlias(id: string): void {
    if (this.#ready) this.#sql.exec('DELETE FROM aliases WHERE alias = ?', id);
  }

  /** Ids starting with `prefix`, at most `limit` (a lead may be known by many anonymous ids). */
  aliases(prefix: string, limit: number): { ids: string[]; total: number } {
    if (!this.#ready) return { ids: [], total: 0 };
    const ids = this.#all<{ alias: string }>('SELECT alias FROM aliases WHERE alias >= ? AND alias < ? ORDER BY alias LIMIT ?', prefix, prefix + '\uffff', limit).map((r) => r.alias);
    const total = this.#one<{ n: number }>('SELECT COUNT(*) AS n FROM aliases WHERE alias >= ? AND alias < ?', prefix, prefix + '\uffff')!.n;
    return { ids, total };
  }

  /** A page of merged-in ids after `after`, for handing them over with the history. */
  aliasPage(after: string, limit: number): string[] {
    if (!this.#ready) return [];
    return this.#all<{ alias: string }>('SELECT alias FROM aliases WHERE alias > ? ORDER BY alias LIMIT ?', after, limit).map((r) => r.alias);
  }

  // --- rollups: counts (and points as scored then) of compacted history, per day and rule --------------------

  addRollups(rows: readonly RollupRow[]): void {
    this.#insertRows(
      'INSERT INTO rollups (day, scoring_type, rule, points, events)',
      rows.map((r) => [r.day, r.scoringType, r.rule, r.points, r.events]),
      'ON CONFLICT DO UPDATE SET points = points + excluded.points, events = events + excluded.events',
    );
  }

  rollupTotals(): { events: number; byType: Map<string, number> } {
    if (!this.#ready) return { events: 0, byType: new Map() };
    const rows = this.#all<{ scoring_type: string; points: number; events: number }>(
      'SELECT scoring_type, SUM(points) AS points, SUM(events) AS events FROM rollups GROUP BY scoring_type',
    );
    // Archived arrivals are counted under scoring type '*' with no points.
    return { events: rows.filter((r) => r.scoring_type === '*').reduce((s, r) => s + r.events, 0), byType: new Map(rows.map((r) => [r.scoring_type, r.points])) };
  }

  // --- timers: due times as rows; the alarm is the earliest ---------------------------------------------------

  timers(): TimerRow[] {
    if (!this.#ready) return [];
    return this.#all<{ kind: string; key: string; due_at: number; payload: string | null }>('SELECT kind, key, due_at, payload FROM timers').map(
      (r) => ({ kind: r.kind, key: r.key, dueAt: r.due_at, payload: r.payload }),
    );
  }

  setTimer(kind: string, key: string, dueAt: number, payload: string | null = null): void {
    this.#write();
    this.#sql.exec(
      'INSERT INTO timers (kind, key, due_at, payload) VALUES (?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload',
      kind, key, dueAt, payload,
    );
  }

  deleteTimer(kind: string, key = ''): void {
    if (this.#ready) this.#sql.exec('DELETE FROM timers WHERE kind = ? AND key = ?', kind, key);
  }

  // --- outbox: what other systems must be told, committed with the change that caused it -----------------------

  enqueue(dest: string, kind: string, payload: string, at: number): void {
    this.#write();
    this.#sql.exec('INSERT INTO outbox (dest, kind, payload, next_at) VALUES (?, ?, ?, ?)', dest, kind, payload, at);
  }

  /** The newest undelivered row of a destination, if any. */
  lastQueued(dest: string): OutboxRow | undefined {
    if (!this.#ready) return undefined;
    const r = this.#one<{ seq: number; dest: string; kind: string; payload: string; attempts: number; next_at: number; last_error: string | null }>(
      'SELECT * FROM outbox WHERE dest = ? ORDER BY seq DESC LIMIT 1',
      dest,
    );
    return r && { seq: r.seq, dest: r.dest, kind: r.kind, payload: r.payload, attempts: r.attempts, nextAt: r.next_at, lastError: r.last_error };
  }

  /** Replaces a queued row's payload (a newer snapshot of the same news), bringing a first try forward to `at`. */
  requeue(seq: number, payload: string, at: number): void {
    this.#write();
    // A row backing off after failures keeps its retry time: new news does not hammer a destination that is down.
    this.#sql.exec('UPDATE outbox SET payload = ?, next_at = CASE WHEN attempts = 0 THEN MIN(next_at, ?) ELSE next_at END WHERE seq = ?', payload, at, seq);
  }

  /** The oldest undelivered row of each destination: delivery is in order per destination. */
  outboxHeads(): OutboxRow[] {
    if (!this.#ready) return [];
    return this.#all<{ seq: number; dest: string; kind: string; payload: string; attempts: number; next_at: number; last_error: string | null }>(
      'SELECT o.* FROM outbox o JOIN (SELECT dest, MIN(seq) AS seq FROM outbox GROUP BY dest) h ON o.seq = h.seq',
    ).map((r) => ({ seq: r.seq, dest: r.dest, kind: r.kind, payload: r.payload, attempts: r.attempts, nextAt: r.next_at, lastError: r.last_error }));
  }

  outbox(): OutboxRow[] {
    if (!this.#ready) return [];
    return this.#all<{ seq: number; dest: string; kind: string; payload: string; attempts: number; next_at: number; last_error: string | null }>('SELECT * FROM outbox ORDER BY seq').map(
      (r) => ({ seq: r.seq, dest: r.dest, kind: r.kind, payload: r.payload, attempts: r.attempts, nextAt: r.next_at, lastError: r.last_error }),
    );
  }

  /**
   * Merges (merge.ts): the queued notifications after outbox row `afterSeq`, oldest first — what a giver hands
   * over so that nothing it still owed a team is lost when it starts forwarding.
   */
  notificationsAfter(afterSeq: number, limit: number): OutboxRow[] {
    if (!this.#ready) return [];
    return this.#all<{ seq: number; dest: string; kind: string; payload: string; attempts: number; next_at: number; last_error: string | null }>(
      "SELECT * FROM outbox WHERE kind = 'notification' AND seq > ? ORDER BY seq LIMIT ?",
      afterSeq,
      limit,
    ).map((r) => ({ seq: r.seq, dest: r.dest, kind: r.kind, payload: r.payload, attempts: r.attempts, nextAt: r.next_at, lastError: r.last_error }));
  }

  /**
   * Takes in a notification another lead handed over (same message id, attempts and retry time), unless this
   * lead already queued the one with that id (a merge run again). Returns whether it was added.
   */
  adoptNotification(row: HandedNotification, id: string): boolean {
    this.#write();
    const dup = this.#one<{ x: number }>("SELECT 1 AS x FROM outbox WHERE kind = 'notification' AND json_extract(payload, '$.id') = ?", id);
    if (dup) return false;
    this.#sql.exec('INSERT INTO outbox (dest, kind, payload, attempts, next_at, last_error) VALUES (?, ?, ?, ?, ?, ?)', row.dest, row.kind, row.payload, row.attempts, row.nextAt, row.lastError);
    return true;
  }

  delivered(seq: number): void {
    this.#sql.exec('DELETE FROM outbox WHERE seq = ?', seq);
  }

  deferDelivery(seq: number, nextAt: number, error: string): void {
    this.#sql.exec('UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE seq = ?', nextAt, error.slice(0, 500), seq);
  }

  // --- slas: the latest response SLA of each team the lead was routed to -------------------------------------

  slas(): SlaRow[] {
    if (!this.#ready) return [];
    return this.#all<Record<string, string | number | null>>('SELECT * FROM slas ORDER BY started_at, team').map((r) => ({
      team: r.team as string,
      scoringType: r.scoring_type as string,
      level: r.level as string,
      startedAt: r.started_at as number,
      dueAt: r.due_at as number,
      state: r.state as SlaRow['state'],
      metAt: r.met_at as number | null,
      metBy: r.met_by as string | null,
      note: r.note as string | null,
      breachedAt: r.breached_at as number | null,
      closedAt: r.closed_at as number | null,
    }));
  }

  putSla(r: SlaRow): void {
    this.#write();
    this.#sql.exec(
      `INSERT INTO slas (team, scoring_type, level, started_at, due_at, state, met_at, met_by, note, breached_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (team) DO UPDATE SET scoring_type = excluded.scoring_type, level = excluded.level, started_at = excluded.started_at, due_at = excluded.due_at,
         state = excluded.state, met_at = excluded.met_at, met_by = excluded.met_by, note = excluded.note, breached_at = excluded.breached_at, closed_at = excluded.closed_at`,
      r.team, r.scoringType, r.level, r.startedAt, r.dueAt, r.state, r.metAt, r.metBy, r.note, r.breachedAt, r.closedAt,
    );
  }

  // --- buckets: rate limits that survive evictions ----------------------------------------------------------

  dropBucketsBefore(at: number): void {
    if (!this.#ready) return;
    this.#sql.exec('DELETE FROM buckets WHERE at < ?', at);
    for (const [name, b] of this.#buckets) if (b && b.at < at) this.#buckets.delete(name);
  }

  bucket(name: string): { tokens: number; at: number } | undefined {
    if (!this.#ready) return undefined;
    if (!this.#buckets.has(name)) this.#buckets.set(name, this.#one<{ tokens: number; at: number }>('SELECT tokens, at FROM buckets WHERE name = ?', name) ?? null);
    return this.#buckets.get(name) ?? undefined;
  }

  setBucket(name: string, tokens: number, at: number): void {
    this.#write();
    this.#sql.exec('INSERT INTO buckets (name, tokens, at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, at = excluded.at', name, tokens, at);
    this.#buckets.set(name, { tokens, at });
  }

  // --- the whole lead ---------------------------------------------------------------------------------------

  /** Every id merged into this lead, all pages. */
  allAliases(): string[] {
    const out: string[] = [];
    for (let page = this.aliasPage('', 500); page.length; page = this.aliasPage(page[page.length - 1], 500)) out.push(...page);
    return out;
  }

  /**
   * Erasure: every table of this object goes (events, ledger sources, timers, queued news, identity), leaving
   * one row: until when events for this id are dropped. The alarm is the caller's to delete.
   */
  erase(quarantineUntil: number): void {
    for (const { name } of this.#all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")) {
      this.#sql.exec(`DROP TABLE IF EXISTS "${name}"`);
    }
    this.#sql.exec('CREATE TABLE erased (until INTEGER NOT NULL)');
    this.#sql.exec('INSERT INTO erased (until) VALUES (?)', quarantineUntil);
    this.#ready = false;
    this.#meta = null;
    this.#buckets.clear();
    this.#oldest = undefined;
    this.#checkpointText.clear();
    this.#checkpointsRead = false;
  }

  /** Until when this id's events are dropped (an erased lead), if they are. */
  erasedUntil(): number | undefined {
    if (this.#ready) return undefined;
    if (!this.#one("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'erased'")) return undefined;
    return this.#one<{ until: number }>('SELECT until FROM erased')?.until;
  }

  /** The quarantine is over: the id may start a new lead. */
  endQuarantine(): void {
    this.#sql.exec('DROP TABLE IF EXISTS erased');
  }

  /**
   * After a merge handed this lead's history to another: everything but who it is and where it forwards. Its
   * queued notifications went with the history (merge.ts); the rest of its outbox is its own lead's news (its
   * index row and directory entry, which the receiver's merge news replaces).
   */
  clearForForward(): void {
    this.#write();
    for (const t of ['events', 'checkpoints', 'levels', 'rollups', 'timers', 'outbox', 'aliases', 'buckets', 'traits', 'accounts', 'slas']) this.#sql.exec(`DELETE FROM ${t}`);
    this.#sql.exec("DELETE FROM meta WHERE k NOT IN ('forward_to', 'key', 'schema')");
    this.#meta = null;
    this.#buckets.clear();
    this.#oldest = undefined;
    this.#checkpointText.clear();
    this.#checkpointsRead = true;
  }
}

/**
 * One Durable Object per lead id: a thin list of RPC methods over capabilities that each own their table —
 * `store` (all the SQL), `scoring` (the engine's incremental Scorer, one commit point), `timers` (due times
 * as rows, one alarm), `outbox` (news for the lead index, delivered with retries), `merge` (identity),
 * `retention` (compaction), `rate-limit`, `profile` (traits and accounts) and `reads`.
 *
 * An object whose id was merged into another lead forwards to it (`forward_to`); see merge.ts.
 */
import { DurableObject } from 'cloudflare:workers';
import type { AbsorbResult, ErasureReceipt, HandedNotification, LevelMark, EventCursor, LeadExtras, EventsPage, ExportPage, IngestInput, IngestResult, KeyKind, LeadView, LevelSummary, ModelRef, SlaView } from '../../shared/api.js';
import type { CompiledModel } from '../../shared/compile.js';
import type { LevelChange, TypeResult } from '../../shared/engine.js';
import type { LearnState } from '../../shared/learn/record.js';
import { DAY_MS } from '../../shared/limits.js';
import { applyDirectory, type DirectoryNews } from '../directory.js';
import type { Env } from '../env.js';
import { unindex, writeIndex, type IndexNews, type IndexRow, type LevelSpanNews } from '../lead-index.js';
import { anonKey, idOfKey } from '../identity.js';
import { activeModel } from '../model.js';
import { compiledFrom, compiledNow, publishedNow, publishedRef, refreshPublished, storedModel } from '../models.js';
import { Attribution } from './attribution.js';
import { Erasure } from './erasure.js';
import { Merge, type Giver } from './merge.js';
import { Notify } from './notify.js';
import { forgetDeliveries, type Delivery } from '../notify/deliveries.js';
import { teamById, teamsConfig, teamsFor, type Team } from '../notify/teams.js';
import type { NotificationBody } from '../notify/message.js';
import { Outbox } from './outbox.js';
import { Profile } from './profile.js';
import { RateLimit } from './rate-limit.js';
import { Reads } from './reads.js';
import { Retention } from './retention.js';
import { Scoring } from './scoring.js';
import { escalationOf, Sla, slaView, type Contact } from './sla.js';
import { Store, type SlaRow } from './store.js';
import { Timers } from './timers.js';

/** The object's RPC surface: the class implements it, callers hold it. */
export interface LeadRpc extends Giver {
  ingest(input: IngestInput): Promise<IngestResult>;
  /** Erases the lead everywhere (following a forward to it); null when no lead is stored under this id. */
  erase(quarantineMs: number): Promise<ErasureReceipt | null>;
  /** Empties this id's object for another lead's erasure, and marks it until `until`. */
  eraseHere(until: number): Promise<void>;
  /** What the lead's object keeps besides its view and events: merged ids, queued news. */
  exportExtras(): Promise<LeadExtras | null>;
  level(now?: number): Promise<LevelSummary | null>;
  view(now?: number): Promise<LeadView | null>;
  events(limit: number, cursor: EventCursor | null, now?: number): Promise<EventsPage | null>;
  exportEvents(after: EventCursor | null, limit: number): Promise<ExportPage | null>;
  learning(): Promise<LearnState | null>;
  /** Queues a recorded delivery again (same message id) and delivers what is due; false: no such lead here. */
  retryDelivery(delivery: Delivery): Promise<boolean>;
  /**
   * Rebuilding the index (worker/reindex.ts): writes this lead's index row now, as the normal path writes it.
   * `indexed`: written; `queued`: the index refused it, the outbox retries it; `gone`: no lead lives under this
   * key (merged away, erased, never written), and the key has left the directory.
   */
  reindex(key: string): Promise<ReindexResult>;
  /** A salesperson contacted the lead: meets the open SLAs it falls within. Null: no lead stored here. */
  contacted(contact: Partial<Contact>): Promise<ContactResult | null>;
  /**
   * Publishing (worker/model-run.ts): the lead's turn to be rescored under a publication. `rescored`: its whole
   * history scored again under it; `current`: it was under this publication (or a later one) already; `gone`:
   * no lead lives under this key.
   */
  rescore(ref: ModelRef): Promise<RescoreResult>;
  /**
   * The impact preview: the lead's primary level now and under `version` (its stored history scored again,
   * nothing written), and whether it converted. Null: no lead lives under this key.
   */
  preview(version: number): Promise<PreviewAnswer | null>;
}

export type RescoreResult = 'rescored' | 'current' | 'gone';

export interface PreviewAnswer {
  /** The primary level now, under the published version and under the draft: the matrix of moves. */
  from: string;
  to: string;
  converted: boolean;
  /**
   * The level the lead stood at when it converted (else after its last event), under each: what conversion per
   * level counts, as the conversion evidence does (shared/learn/record.ts).
   */
  fromAtConversion?: string;
  toAtConversion?: string;
}

/** A lead converted: it has one of these events (SPEC, "Model lifecycle and learning"). */
export const CONVERSIONS = ['Opportunity Created', 'Deal Won'] as const;

export interface ContactResult {
  /** The SLAs this contact met. */
  met: SlaView[];
  sla: SlaView | null;
  slas: SlaView[];
}

export type ReindexResult = 'indexed' | 'queued' | 'gone';

/** The event a CRM sends when someone reached the lead (server-only, shared/events.ts). */
export const LEAD_CONTACTED = 'Lead Contacted';
const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

export const leadStub = (env: Env, key: string) => env.LEAD.getByName(key) as unknown as LeadRpc;

const FORWARD = Symbol('forward');
/** A model move the alarm could not prepare (D1 unreachable) is tried again this much later. */
const MOVE_RETRY_MS = 60_000;
/** The longest a new lead's first batch waits for the published version when its isolate does not know it yet. */
const NEW_LEAD_WAIT_MS = 2_000;

/** A move to a publication, its model fetched. */
interface Move {
  ref: ModelRef;
  model: CompiledModel;
}
/** A lead whose scores moved (and no level) refreshes its index row at most this often. */
const INDEX_REFRESH_MS = 2_000;
/** The most level changes a lead's index history carries (the latest; years of a busy lead's history). */
const MAX_INDEXED_LEVELS = 2_000;
const mergeNews = (queued: IndexNews, next: IndexNews): IndexNews => {
  const remove = [...new Set([...(queued.remove ?? []), ...(next.remove ?? [])])];
  const levels = next.levels ?? queued.levels;
  return { upsert: next.upsert ?? queued.upsert, ...(levels ? { levels } : {}), ...(remove.length ? { remove } : {}) };
};

export class Lead extends DurableObject<Env> implements LeadRpc {
  readonly #store: Store;
  readonly #timers: Timers;
  readonly #outbox: Outbox;
  readonly #merge: Merge;
  readonly #limit: RateLimit;
  readonly #erasure: Erasure;
  readonly #profile: Profile;
  readonly #sla: Sla;
  // The model the lead is scored under (a stored version), and the capabilities that read it: `#use` swaps them.
  #model!: CompiledModel;
  #scoring!: Scoring;
  #retention!: Retention;
  #reads!: Reads;
  #notify!: Notify;
  readonly #attribution: Attribution;
  #lock: Promise<unknown> = Promise.resolve();
  /** The alarm sets due times exactly; batches only ever bring them forward. */
  #inAlarm = false;
  /**
   * Set inside a commit when the lead's index row must be written again: `now` for a new lead, a level or stage
   * change or a merge; `soon` when only scores or activity moved (written within INDEX_REFRESH_MS, coalesced).
   */
  #index: 'now' | 'soon' | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new Store(ctx.storage);
    this.#timers = new Timers(this.#store, ctx.storage);
    this.#outbox = new Outbox(this.#store, this.#timers, {
      index: async (row) => writeIndex(this.env.INDEX, row.seq, JSON.parse(row.payload) as IndexNews),
      notify: (row) => this.#notify.deliver(row),
      directory: async (row) => applyDirectory(this.env, JSON.parse(row.payload) as DirectoryNews),
    });
    this.#merge = new Merge(this.#store, this.#timers, {
      key: () => this.#store.meta('key')!,
      giver: (key) => leadStub(this.env, key),
      absorb: (from, events, aliases, notifications, giverLevels, giverSlas) => this.#absorb(from, events, aliases, notifications, giverLevels, giverSlas),
      known: () => this.#known(),
      levels: () => this.#scoring.evaluate(Date.now())?.map(({ scoringType, level, levelName, stage, stageName }) => ({ scoringType, level, levelName, stage, stageName })) ?? null,
      slas: () => this.#store.slas(),
    });
    this.#limit = new RateLimit(this.#store, Number(env.VISITOR_EVENTS_PER_MINUTE ?? 120));
    this.#erasure = new Erasure(this.#store, {
      key: () => this.#store.meta('key')!,
      publicId: () => this.#reads.publicId(),
      eraseOther: (key, until) => leadStub(this.env, key).eraseHere(until),
      unindex: async (keys) => {
        await unindex(this.env.INDEX, keys);
        await forgetDeliveries(this.env.INDEX, keys);
      },
      deregister: (keys) => applyDirectory(this.env, { remove: keys }),
      stopAlarm: async () => {
        this.#scoring.reset();
        this.#timers.reset();
        this.#sla.reset();
        await ctx.storage.deleteAlarm();
      },
    });
    this.#profile = new Profile(this.#store);
    this.#attribution = new Attribution(this.#store);
    this.#sla = new Sla(this.#store, this.#timers, {
      rank: (type, level) => this.#model.types.find((t) => t.id === type)?.tierIds.indexOf(level) ?? -1,
      changed: () => {
        this.#index = 'now';
      },
      breached: (row, now) => {
        const own = teamById(row.team);
        const to = escalationOf(row.team);
        const results = this.#scoring.evaluate(now);
        const r = results?.find((x) => x.scoringType === row.scoringType) ?? results?.[0];
        if (own && to && r) this.#notify.breached(row, own, to, r, now);
      },
    });
    this.#use(activeModel());
    // Its only use: read the alarm once, load the model version the lead is scored under (from its own storage:
    // no D1 read), and mark a lead scored under an older model for the alarm to rescore (never on a read).
    void ctx.blockConcurrencyWhile(async () => {
      if (!this.#store.exists) return;
      await this.#timers.load();
      const own = await this.#ownModel();
      if (own) this.#use(own);
      if (this.#scoring.stale && !this.#store.meta('forward_to')) this.#timers.set('migrate', Date.now());
      // Backfill: a lead stored before the directory existed registers the first time it loads again.
      if (this.#scoring.exists && !this.#store.meta('forward_to')) this.#register(Date.now());
    });
  }

  /** Scores the lead under `model` from now on: the capabilities that read the model are made anew for it. */
  #use(model: CompiledModel): void {
    const env = this.env;
    this.#model = model;
    this.#scoring = new Scoring(this.#store, model, {
      onChanges: (changes) => {
        if (changes.length) this.#index = 'now';
        this.#sla.changes(changes);
      },
      onNextChange: (at) => this.#timers.set('score', at, '', null, !this.#inAlarm),
    });
    this.#retention = new Retention(this.#store, this.#scoring, this.#timers, model, Number(env.RAW_RETENTION_DAYS ?? 400) * DAY_MS);
    this.#reads = new Reads(this.#store, this.#scoring, model);
    this.#notify = new Notify(this.#outbox, model, {
      env,
      key: () => this.#store.meta('key')!,
      known: () => this.#known(),
      view: (now) => {
        const view = this.#reads.view(now);
        return view && { ...view, ...this.#profile.view() };
      },
      routed: (team, move, now) => this.#sla.start(team, move.scoringType, move.to, now),
    });
  }

  /** The publication the lead is scored under (0: before versions were stored, or never told). */
  #seq(): number {
    return Number(this.#store.meta('model_seq') ?? 0);
  }

  /** A later publication the lead was told of and has not moved to yet. */
  #target(): ModelRef | null {
    const t = this.#store.meta('model_target');
    return t ? (JSON.parse(t) as ModelRef) : null;
  }

  /**
   * The published version as this object's isolate knows it, with no wait: the cache, refreshed in the
   * background when older than PUBLISHED_TTL_MS (a D1 outage leaves it empty, and the lead on its version).
   */
  #published(given: ModelRef | undefined): ModelRef | null {
    const cached = publishedNow();
    if (!cached) void refreshPublished(this.env);
    return !given ? cached : !cached || given.seq > cached.seq ? given : cached;
  }

  /**
   * Before the lock, for a lead's first batch only: an isolate that has not read the published version yet (or
   * not compiled its body) reads it once, so the new lead starts under it rather than moving in its alarm right
   * after. Bounded: past NEW_LEAD_WAIT_MS, or with D1 unreachable, the lead starts under what is known (the
   * bundled file at worst) and its alarm moves it.
   */
  async #prepareNew(published: ModelRef | null): Promise<ModelRef | null> {
    if (published && compiledNow(published.version)) return published;
    const bounded = <T>(p: Promise<T>) => Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), NEW_LEAD_WAIT_MS))]);
    const ref = published ?? (await bounded(refreshPublished(this.env)));
    if (ref && !compiledNow(ref.version)) await bounded(storedModel(this.env.INDEX, ref.version).catch(() => null));
    return ref;
  }

  /**
   * Part of a commit: the lead is scored under `model` (publication `ref`) from now on. Its body is kept here
   * unless it is the bundled file's (most leads: no copy of the file in every object).
   */
  #adopt(ref: ModelRef, model: CompiledModel): void {
    if (model !== this.#model) this.#use(model);
    this.#store.setMetas({ model_version: String(ref.version), model_seq: String(ref.seq), model_fingerprint: model.fingerprint });
    if (model.fingerprint === activeModel().fingerprint) this.#store.deleteMeta('model_body');
    else this.#store.setMeta('model_body', JSON.stringify(model.source));
  }

  /**
   * The version the lead is scored under, from its own storage: its body, or the bundled file's under its number.
   * Only a lead of a file a later deploy replaced reads its body from D1 (once per isolate); with D1 down it
   * stays under the bundled file, marked stale, until its alarm or the publish run moves it.
   */
  async #ownModel(): Promise<CompiledModel | undefined> {
    const own = this.#store.meta('model_version');
    if (!own) return undefined;
    const v = Number(own);
    const body = this.#store.meta('model_body');
    if (body) return compiledNow(v) ?? compiledFrom(v, JSON.parse(body));
    if (this.#store.meta('model_fingerprint') === activeModel().fingerprint) return compiledNow(v) ?? compiledFrom(v, activeModel().source);
    return storedModel(this.env.INDEX, v).catch(() => undefined);
  }

  /**
   * Part of a batch's commit, no wait: the published version the lead's isolate knows of. A new lead is scored
   * under it from its first event when the isolate has its body compiled (else under the bundled file, moved
   * in its alarm at once); a lead behind it keeps its version for this batch and is marked for its alarm to move
   * (a whole-history rescore is no work for the ingest path). Every alarm compares again (`#lagging`).
   */
  #follow(ref: ModelRef | null, now: number): void {
    if (!this.#scoring.exists) {
      const model = ref && compiledNow(ref.version);
      if (ref && model) return this.#adopt(ref, model);
    }
    if (!ref || ref.seq <= this.#seq()) return;
    if ((this.#target()?.seq ?? 0) >= ref.seq) return;
    this.#store.setMeta('model_target', JSON.stringify(ref));
    this.#timers.set('migrate', now, '', null, true);
  }

  /**
   * An alarm's look at the published version: a lead created from a cache that
   * lagged a publication, after the publish run's sweep, moves at its next alarm even with no batch to tell it.
   */
  #lagging(ref: ModelRef | null, now: number): void {
    if (ref && ref.seq > this.#seq() && !this.#timers.get('migrate')) this.#follow(ref, now);
  }

  /**
   * Where the alarm moves the lead: the newest of the publication it was told of and the published one (read
   * through the isolate's cache), with its model fetched before the lock. Null: nothing newer; 'retry': D1
   * could not answer, the move waits for a later alarm.
   */
  async #nextModel(): Promise<Move | null | 'retry'> {
    try {
      const published = await publishedRef(this.env);
      const target = this.#target();
      const ref = target && target.seq > published.seq ? target : published;
      if (ref.seq <= this.#seq()) return null;
      const model = await storedModel(this.env.INDEX, ref.version);
      return { ref, model };
    } catch {
      return 'retry';
    }
  }

  /**
   * The move itself, synchronous (the migrate timer, the version, the rescored history and the news commit
   * together: a crash anywhere leaves the timer to move it again). Answers whether the scores were recomputed.
   */
  #moveTo(move: Move | null | 'retry', now: number): boolean {
    if (move === 'retry') {
      this.#timers.set('migrate', now + MOVE_RETRY_MS);
      return false;
    }
    const target = this.#target();
    let moved = false;
    if (move && move.ref.seq > this.#seq()) {
      moved = !this.#scoring.scoredUnder(move.model);
      const before = this.#model;
      if (move.model !== before) this.#use(move.model);
      try {
        if (moved) this.#migrate(now);
      } catch (err) {
        // The history could not be rescored (a stored body unreadable): the lead stays where it was, and says so.
        this.#use(before);
        throw err;
      }
      this.#adopt(move.ref, move.model);
      // A later publication told meanwhile stays for the alarm.
      if (target && target.seq > move.ref.seq) {
        this.#timers.set('migrate', now);
        return moved;
      }
    }
    this.#timers.clear('migrate');
    this.#store.deleteMeta('model_target');
    if (this.#scoring.stale) {
      this.#migrate(now);
      moved = true;
    }
    return moved;
  }

  /** Serializes work that awaits other objects, so two batches never interleave inside one lead. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  #forwardTo(): string | undefined {
    return this.#store.meta('forward_to');
  }

  #known(): boolean {
    const key = this.#store.meta('key');
    return (!!key && !key.startsWith('a:')) || !!this.#store.meta('user_id') || !!this.#store.meta('email');
  }

  /**
   * Stores and scores a batch for this lead, and merges the ids the batch links to it. Forwarding to the lead
   * this one was merged into happens outside the lock: waiting on another object while holding our own could
   * deadlock with a merge going the other way.
   */
  async ingest(input: IngestInput): Promise<IngestResult> {
    for (;;) {
      const fwd = this.#forwardTo();
      if (fwd) return leadStub(this.env, fwd).ingest({ ...input, key: fwd });
      let published = this.#published(input.model);
      if (!this.#scoring.exists) published = await this.#prepareNew(published);
      const r = await this.#exclusive(() => this.#ingest(input, published));
      if (r !== FORWARD) return r;
    }
  }

  async #ingest(input: IngestInput, published: ModelRef | null): Promise<IngestResult | typeof FORWARD> {
    if (this.#forwardTo()) return FORWARD; // merged away while this batch waited for the lock
    if (this.#erasure.quarantined(input.receivedAt)) return { ok: false, refused: 'erased', dropped: input.events.length };
    // A browser claiming this known lead's email does not join it: it would read this lead's level from then on.
    if (input.source === 'public' && input.byEmail && !input.claim && input.visitor !== undefined && this.#scoring.exists) {
      if (this.#merge.pending([anonKey(input.visitor)]).length) return { ok: false, refused: 'claimed' };
    }
    if (input.source === 'public') {
      // Per browser visitor, not per lead: strangers claiming this lead's email cannot use up its own visitor's allowance.
      const retryAfter = this.#limit.take(`visitor:${input.visitor ?? ''}`, input.events.length, input.receivedAt);
      if (retryAfter) return { ok: false, refused: 'rate_limited', retryAfter };
    }
    if (!this.#store.meta('key')) this.#store.setMeta('key', input.key);
    this.#follow(published, input.receivedAt);
    if (this.#scoring.stale) this.#migrate(input.receivedAt);
    const joined: string[] = [];
    for (const alias of input.claim ? [] : this.#merge.pending(input.aliases)) joined.push(...(await this.#merge.merge(alias, input.source)));
    // From here to the return: no await, so the batch commits as one.
    if (!this.#scoring.exists) this.#index = 'now';
    const c = this.#scoring.add(input.events, input.receivedAt);
    if (c.added.length) this.#index ??= 'soon';
    // New traits that move the fit reach the queue at once, as a level change does.
    if (fitMoved(c.before[0], c.after[0])) this.#index = 'now';
    this.#profile.note(input.events);
    this.#attribution.note(input.events);
    this.#noteIdentity(joined);
    if (c.added.length) this.#notify.moved(c.before, c.after, input.receivedAt);
    this.#noteContacts(input.events, c.added);
    this.#retention.schedule();
    this.#commitNews(input.receivedAt, joined);
    const ownNew = new Set(input.events.map((e) => e.messageId));
    const primary = this.#model.types[0].id;
    return {
      ok: true,
      accepted: c.added.filter((id) => ownNew.has(id)).length - c.archived,
      duplicates: c.duplicates.filter((id) => ownNew.has(id)).length,
      archived: c.archived,
      lead: this.#reads.summary(c.after[0]),
      previousLevel: c.before[0].level,
      changes: c.changes.filter((ch) => ch.scoringType === primary).map(move),
    };
  }

  /**
   * One page of a merged lead's history, with the notifications it still owed, committed as one. The team heard
   * of the giver's place (`giverLevels`) already: only a move beyond both leads' places is news. The giver's
   * SLAs (`giverSlas`) go on here, after this page's own moves have started theirs.
   */
  #absorb(from: string, events: IngestInput['events'], aliases: string[], notifications: HandedNotification[], giverLevels: LevelMark[] | null, giverSlas: SlaRow[]): void {
    const now = Date.now();
    const before = this.#scoring.exists ? this.#scoring.evaluate(now) : null;
    if (events.length) {
      this.#scoring.add(events, now);
      this.#profile.note(events);
      this.#attribution.note(events);
    }
    if (aliases.length) this.#store.addAliases(aliases, true);
    this.#noteIdentity([from, ...aliases]);
    if (notifications.length) this.#notify.adopt(notifications);
    if (events.length) this.#notify.moved(before, this.#scoring.evaluate(now), now, giverLevels);
    if (giverSlas.length) this.#sla.adopt(giverSlas);
    this.#index = 'now';
    this.#commitNews(now, [from, ...aliases]);
  }

  /** `Lead Contacted` events just stored meet the SLAs open at their time (a server's only: ingest refuses a site key's). */
  #noteContacts(events: IngestInput['events'], added: readonly string[]): void {
    const fresh = new Set(added);
    for (const e of events) {
      if (e.type !== 'track' || e.event !== LEAD_CONTACTED || !fresh.has(e.messageId)) continue;
      const p = e.properties;
      this.#sla.contacted({ at: e.timestamp, team: text(p.team), by: text(p.by), note: text(p.note) });
    }
  }

  #noteIdentity(keys: readonly string[]): void {
    for (const k of [this.#store.meta('key')!, ...keys]) {
      if (k.startsWith('u:') && !this.#store.meta('user_id')) this.#store.setMeta('user_id', k.slice(2));
      if (k.startsWith('e:') && !this.#store.meta('email')) this.#store.setMeta('email', k.slice(2));
    }
  }

  /**
   * Part of a commit: the directory hears of a lead not registered yet (the `directory` meta flag lands with
   * the outbox row, so it is queued exactly once and retried until delivered) and of the ids merged into it.
   */
  #register(now: number, merged: readonly string[] = []): void {
    const key = this.#store.meta('key');
    if (!key) return;
    const news: DirectoryNews = {};
    if (!this.#store.meta('directory')) {
      news.add = [key];
      this.#store.setMeta('directory', '1');
    }
    const removed = merged.filter((k) => k !== key);
    if (removed.length) news.remove = removed;
    if (news.add || news.remove) this.#outbox.enqueue('directory', 'keys', news, now);
  }

  /** Part of every commit: the lead index hears of a new lead, a level, stage or fit change, a merge. */
  #commitNews(now: number, merged: readonly string[] = []): void {
    if (this.#scoring.exists) this.#register(now, merged);
    if (!this.#index && !merged.length) return;
    const at = this.#index === 'soon' && !merged.length ? now + INDEX_REFRESH_MS : now;
    // A level change, a new lead, a merge, a rescore or a rebuild may have changed the level history: it goes too.
    const history = this.#index === 'now' || merged.length > 0;
    this.#index = null;
    const results = this.#scoring.evaluate(now);
    if (!results) return;
    const levels = history ? this.#levelHistory() : undefined;
    const news: IndexNews = { upsert: this.#indexRow(results[0], now), ...(levels ? { levels } : {}) };
    const key = this.#store.meta('key');
    const removed = merged.filter((k) => k !== key);
    if (removed.length) news.remove = removed;
    this.#outbox.enqueueSnapshot('index', 'lead', news, mergeNews, at);
  }

  /**
   * The level history of the model's first scoring type, oldest first, as the index keeps it: a lead starts in the
   * lowest level when first seen (the engine records no change for that), unless its first event moved it at once.
   */
  #levelHistory(): LevelSpanNews[] {
    const t = this.#model.types[0];
    const changes = this.#store
      .levels(Number.MAX_SAFE_INTEGER, MAX_INDEXED_LEVELS * this.#model.types.length)
      .filter((l) => l.scoringType === t.id)
      .slice(0, MAX_INDEXED_LEVELS)
      .reverse()
      .map((l) => ({ at: l.at, from: l.from, to: l.to, rank: t.tierIds.indexOf(l.to), reason: l.reason.kind }));
    const first = this.#store.state()?.firstSeen;
    if (typeof first === 'number' && (!changes.length || changes[0].at > first)) changes.unshift({ at: first, from: '', to: t.tierIds[0], rank: 0, reason: 'start' });
    return changes;
  }

  #indexRow(r: TypeResult, now: number): IndexRow {
    const t = this.#model.types[0];
    const state = this.#store.state()!;
    const sla = this.#sla.current();
    const { touch, convertedAt, opportunityAt, exposedAt, holdout } = this.#attribution.view();
    return {
      key: this.#store.meta('key')!,
      id: this.#reads.publicId(),
      email: this.#store.meta('email') ?? null,
      userId: this.#store.meta('user_id') ?? null,
      level: r.level,
      levelRank: t.tierIds.indexOf(r.level),
      levelSince: r.levelSince,
      engagementScore: r.engagementScore,
      leadScore: r.leadScore,
      momentum: r.momentum,
      stage: r.stage,
      fitGrade: r.fit?.grade ?? null,
      fitScore: r.fit?.score ?? null,
      doNotContact: r.doNotContact,
      lastActivityAt: r.lastActivityAt,
      model: state.model,
      modelVersion: state.version,
      updatedAt: now,
      teams: this.#known() ? routedNow(r, t.id).map((x) => x.id) : [],
      slaTeam: sla?.team ?? null,
      slaState: sla?.state ?? null,
      slaDueAt: sla?.dueAt ?? null,
      firstSeenAt: state.firstSeen ?? null,
      source: touch?.source ?? 'direct',
      medium: touch ? touch.medium : 'none',
      campaign: touch?.campaign ?? null,
      referrer: touch?.referrer ?? null,
      convertedAt,
      opportunityAt,
      exposedAt,
      holdout,
      learning: state.learn ?? null,
    };
  }

  #migrate(now: number): void {
    this.#scoring.migrate(now);
    this.#timers.clear('migrate');
    this.#index = 'now';
  }

  /** Runs every timer that fell due, then sets the alarm for the earliest left. Idempotent. */
  override async alarm(): Promise<void> {
    this.#timers.fired();
    // A move's model, and the published version when the isolate's cache expired, are read before the lock: no
    // D1 wait inside it (and none that can fail the alarm: an unreachable D1 answers null).
    const move = this.#store.exists && this.#timers.due(Date.now()).some((t) => t.kind === 'migrate') ? await this.#nextModel() : null;
    const published = this.#store.exists ? (publishedNow() ?? (await refreshPublished(this.env))) : null;
    await this.#exclusive(async () => {
      if (!this.#store.exists || this.#forwardTo()) return;
      const now = Date.now();
      this.#inAlarm = true;
      const due = this.#timers.due(now);
      for (const t of due) {
        if (t.kind === 'migrate') {
          this.#moveTo(move, now);
        } else if (t.kind === 'compact' && !this.#scoring.stale) this.#retention.compact(now);
        else if (t.kind === 'merge') await this.#merge.merge(t.key, (t.payload ?? 'public') as KeyKind);
        else if (t.kind === 'score') this.#timers.clear('score');
      }
      if (this.#forwardTo()) return;
      this.#lagging(published, now);
      if (this.#scoring.exists && !this.#scoring.stale) this.#scoring.settle(now);
      // After settling: a fall below an SLA's level before it was due closes it rather than breaching it.
      for (const t of due) if (t.kind === 'sla') this.#sla.due(t.key, now);
      this.#commitNews(now);
      this.#inAlarm = false;
      if ((this.#timers.get('outbox')?.dueAt ?? Infinity) <= now) await this.#outbox.deliver(now);
    }).finally(() => {
      this.#inAlarm = false;
      this.#timers.rearm();
    });
  }

  handOver(into: string, afterSeq: number, source: KeyKind, outboxAfter?: number): Promise<AbsorbResult> {
    // An erased id has nothing to give, and joins nobody while in quarantine.
    return this.#exclusive(async () => (this.#erasure.quarantined(Date.now()) ? { accepted: false } : this.#merge.handOver(into, afterSeq, source, outboxAfter)));
  }

  async erase(quarantineMs: number): Promise<ErasureReceipt | null> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).erase(quarantineMs);
    return this.#exclusive(async () => (this.#store.exists && this.#store.meta('key') ? this.#erasure.erase(Date.now(), quarantineMs) : null));
  }

  eraseHere(until: number): Promise<void> {
    return this.#exclusive(() => this.#erasure.eraseHere(until));
  }

  async exportExtras(): Promise<LeadExtras | null> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).exportExtras();
    if (!this.#scoring.exists) return null;
    return {
      mergedIds: this.#store.allAliases().map(idOfKey),
      queued: this.#store.outbox().map((r) => ({ destination: r.dest, kind: r.kind, payload: JSON.parse(r.payload) as unknown, attempts: r.attempts, lastError: r.lastError })),
    };
  }

  async retryDelivery(d: Delivery): Promise<boolean> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).retryDelivery(d);
    return this.#exclusive(async () => {
      const team = teamById(d.team);
      if (!this.#scoring.exists || !team || !d.payload) return false;
      const now = Date.now();
      this.#notify.enqueue(team, JSON.parse(d.payload) as NotificationBody, now, d.id, d.destination);
      await this.#outbox.deliver(now);
      this.#timers.rearm();
      return true;
    });
  }

  /** `key`: the key this object is stored under, as the directory holds it. */
  async reindex(key: string): Promise<ReindexResult> {
    return this.#exclusive(async () => {
      if (!this.#scoring.exists || !this.#store.meta('key') || this.#forwardTo()) {
        // Under the lock: a batch starting this lead again waits, and its registration comes after this.
        await applyDirectory(this.env, { remove: [key] });
        return 'gone';
      }
      const now = Date.now();
      if (this.#scoring.stale) this.#migrate(now);
      this.#index = 'now';
      this.#commitNews(now);
      await this.#outbox.deliver(now);
      this.#timers.rearm();
      return this.#store.lastQueued('index') ? 'queued' : 'indexed';
    });
  }

  async rescore(ref: ModelRef): Promise<RescoreResult> {
    // Fetched before the lock (no D1 wait inside it); a failure is this lead's, which the run retries and reports.
    const model = ref.seq > this.#seq() ? await storedModel(this.env.INDEX, ref.version) : null;
    return this.#exclusive(async () => {
      if (!this.#scoring.exists || !this.#store.meta('key') || this.#forwardTo()) return 'gone';
      if (ref.seq <= this.#seq() || !model) return 'current';
      const now = Date.now();
      // Marked first (the target and the migrate timer): should the move fail, the lead's alarm tries it again
      // instead of the lead staying behind until its next batch. A move that succeeds clears both.
      this.#follow(ref, now);
      const moved = this.#moveTo({ ref, model }, now);
      this.#commitNews(now);
      // The index row names the new version before the run moves on: its progress is what the index says.
      await this.#outbox.deliver(now);
      this.#timers.rearm();
      return moved ? 'rescored' : 'current';
    });
  }

  async preview(version: number): Promise<PreviewAnswer | null> {
    if (!this.#scoring.exists || !this.#store.meta('key') || this.#forwardTo()) return null;
    const draft = await storedModel(this.env.INDEX, version);
    const now = Date.now();
    const from = this.#scoring.evaluate(now)?.[0];
    const preview = this.#scoring.preview(draft, now);
    const to = preview?.results[0];
    if (!from || !to) return null;
    const rankOf = (learn: { levelRank: number } | undefined, m: CompiledModel) => (learn ? m.types[0].tierIds[learn.levelRank] : undefined);
    const learn = this.#scoring.state()?.learn;
    return {
      from: from.level,
      to: to.level,
      converted: learn ? learn.convertedAt !== null : this.#store.tracked(CONVERSIONS),
      fromAtConversion: rankOf(learn, this.#model),
      toAtConversion: rankOf(preview.learn, draft),
    };
  }

  completeHandOver(into: string, lastSeq: number, outboxSeq?: number): Promise<AbsorbResult> {
    return this.#exclusive(async () => {
      const r = this.#merge.completeHandOver(into, lastSeq, outboxSeq);
      if (this.#forwardTo()) {
        this.#scoring.reset();
        this.#timers.reset();
        this.#sla.reset();
        this.#timers.rearm();
      }
      return r;
    });
  }

  /** The lead's level only: what a site key may read about its own visitor. */
  async level(now = Date.now()): Promise<LevelSummary | null> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).level(now);
    return this.#reads.level(now);
  }

  async view(now = Date.now()): Promise<LeadView | null> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).view(now);
    const view = this.#reads.view(now);
    return view && { ...view, ...this.#profile.view(), ...this.#sla.view() };
  }

  async contacted(contact: Partial<Contact>): Promise<ContactResult | null> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).contacted(contact);
    return this.#exclusive(async () => {
      if (!this.#scoring.exists) return null;
      const now = Date.now();
      const met = this.#sla.contacted({ ...contact, at: contact.at ?? now });
      this.#commitNews(now);
      this.#timers.rearm();
      return { met: met.map(slaView), ...this.#sla.view() };
    });
  }

  async events(limit: number, cursor: EventCursor | null, now = Date.now()): Promise<EventsPage | null> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).events(limit, cursor, now);
    return this.#reads.events(limit, cursor, now);
  }

  /** A page of the scored history in engine order, as Segment messages (`GET /v1/export`). */
  async exportEvents(after: EventCursor | null, limit: number): Promise<ExportPage | null> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).exportEvents(after, limit);
    return this.#reads.exportPage(after, limit);
  }

  /** The learning record (shared/learn/record.ts), for the lead read's conversion probability. */
  async learning(): Promise<LearnState | null> {
    const fwd = this.#forwardTo();
    if (fwd) return leadStub(this.env, fwd).learning();
    return this.#scoring.state()?.learn ?? null;
  }
}

/** The teams the routes send the lead to as it is now: its level's routes and its stage's. */
function routedNow(r: TypeResult, primary: string): Team[] {
  let cfg;
  try {
    cfg = teamsConfig();
  } catch {
    return [];
  }
  const base = { scoringType: r.scoringType, level: r.level, stage: r.stage, fit: r.fit?.grade ?? null };
  const ids = new Set(teamsFor({ kind: 'level', to: r.level, ...base }, primary, cfg).map((t) => t.id));
  if (r.stage !== null) for (const t of teamsFor({ kind: 'stage', to: r.stage, ...base }, primary, cfg)) ids.add(t.id);
  return cfg.teams.filter((t) => ids.has(t.id));
}

const fitMoved = (a: TypeResult | undefined, b: TypeResult | undefined) => a?.fit?.grade !== b?.fit?.grade || a?.fit?.score !== b?.fit?.score;
const move = (c: LevelChange) => ({ scoringType: c.scoringType, from: c.from, to: c.to, at: c.at, reason: c.reason.kind });

/**
 * What the lead object answers, and what the API, webhooks and the dashboard show of a lead: one set of types
 * for all of them.
 */
import type { JsonObject, JsonValue, LeadEvent } from './events.js';
import type { FitResult } from './fit.js';
import type { LedgerItem } from './ledger.js';

/** Who sent a write: a site key (a browser, public) or a secret key (a server). */
export type KeyKind = 'public' | 'secret';

export interface IngestInput {
  /** The object's own name (`u:…`, `e:…`, `a:…`). */
  key: string;
  events: LeadEvent[];
  /** Other ids this batch links to the lead: merged into it. */
  aliases: string[];
  receivedAt: number;
  /** Who asked: site-key writes are rate limited per visitor and may not merge two known leads. */
  source: KeyKind;
  /** A site-key request's visitor (its anonymousId): the rate limit's bucket. */
  visitor?: string;
  /**
   * A visitor's claim on a known lead (a form with that lead's email, from a browser that is not yet part of
   * it): the events that carry the email are stored here, and nothing merges.
   */
  claim?: boolean;
  /** A site-key batch linking its visitor by an email only (no proven userId): it may join a new lead, not a known one. */
  byEmail?: boolean;
  /**
   * The published model version as the Worker last read it: a new lead is scored under it, a lead scored
   * under an earlier publication moves to it in its alarm.
   */
  model?: ModelRef;
}

/** A publication of a model version (worker/models.ts): `seq` orders publications, a rollback included. */
export interface ModelRef {
  seq: number;
  version: number;
}

export interface LevelSummary {
  id: string;
  level: string;
  levelName: string;
  engagementScore: number;
  leadScore: number;
  doNotContact: boolean;
}

export interface LevelMove {
  scoringType: string;
  from: string;
  to: string;
  at: number;
  reason: string;
}

export type IngestResult =
  | {
      ok: true;
      accepted: number;
      duplicates: number;
      /** Events older than the lead's retained history: counted in its day rollups, not rescorable. */
      archived: number;
      lead: LevelSummary;
      /** The level before this batch, and the changes it caused (primary scoring type). */
      previousLevel: string;
      changes: LevelMove[];
    }
  | { ok: false; refused: 'rate_limited'; retryAfter: number }
  /**
   * A site-key batch would join its visitor to this lead, which already exists: a browser may not join a known
   * lead (it could then read and steer it). Nothing was stored; the visitor's own lead takes the batch, and
   * this lead a claim (IngestInput.claim).
   */
  | { ok: false; refused: 'claimed' }
  /** The lead was erased: events for its ids are dropped until the quarantine ends. */
  | { ok: false; refused: 'erased'; dropped: number };

/** For `GET /v1/leads/{id}/export`: what the lead's object keeps besides its view and events. */
export interface LeadExtras {
  /** Ids merged into the lead (each forwards to it). */
  mergedIds: string[];
  /** News about the lead not yet delivered (index rows, notifications). */
  queued: { destination: string; kind: string; payload: unknown; attempts: number; lastError: string | null }[];
}

/** What `DELETE /v1/leads/{id}` answers: what was erased, and until when later events for its ids are dropped. */
export interface ErasureReceipt {
  id: string;
  /** Every object of the lead's ids (`u:…`, `e:…`, `a:…`): each emptied and marked. */
  keys: string[];
  events: number;
  erasedAt: number;
  quarantineUntil: number;
}

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
  /**
   * Every point of both scores, oldest first: from the opening balance of a stretch that begins at or before the
   * engagement window, to now. Absent while the lead waits to be rescored (`rescorePending`).
   */
  ledger?: LedgerLine[];
}

/**
 * One entry of a lead's ledger (shared/ledger.ts): rule points, caps, window expiries, penalties, absence rules,
 * held and released machine events, the clamp at 0, and the opening balance of the stretch shown. `counts` says
 * which score it counts toward: the entries of a scoring type that count toward a score add up to it.
 */
export type LedgerLine = Omit<LedgerItem, 'at'> & { at: string };

export interface LeadView extends Omit<TypeView, 'scoringType' | 'name'> {
  id: string;
  userId: string | null;
  email: string | null;
  anonymousIds: string[];
  firstSeenAt: string | null;
  lastActivityAt: string | null;
  events: number;
  /** Bytes of SQLite storage the lead's object uses. */
  storageBytes: number;
  model: { id: string; version: number };
  /** Raw events before `compactedBefore` were compacted: their points are carried in the scores. */
  retention?: { compactedBefore: string; compactedEvents: number; points: number; text: string };
  /** Set while the lead still waits to be rescored under the deployment's current model. */
  rescorePending?: boolean;
  /** Events held back as machines' (crawlers, mail scanners), when there are any. */
  held?: HeldCounts;
  scoringTypes: TypeView[];
  history: { scoringType: string; from: string; to: string; at: string; reason: Reason }[];
  /** How well the lead fits the model's ideal customer profile, from its traits; null when the model has no fit. */
  fit: FitResult | null;
  /** The latest value of each trait (identify traits, context.traits) and when it was set. */
  traits?: Record<string, { value: JsonValue; at: string }>;
  /** The accounts (Segment groups) the lead belongs to, with the account's traits. */
  accounts?: { groupId: string; traits: JsonObject; at: string }[];
  /** The most pressing response SLA (the open one due first, else the latest); null when none ever started. */
  sla?: SlaView | null;
  /** The latest SLA of every team the lead was routed to, oldest first. */
  slas?: SlaView[];
}

/**
 * A team's response SLA (SPEC, "SLA"): started when the lead entered a level routed to the team; met by a
 * contact before `dueAt`; breached at `dueAt` otherwise; closed when the lead fell below the level first.
 */
export interface SlaView {
  team: string;
  level: string;
  startedAt: string;
  dueAt: string;
  state: 'open' | 'met' | 'breached' | 'closed';
  metAt?: string;
  metBy?: string;
  note?: string;
  breachedAt?: string;
  closedAt?: string;
}

export interface EventReason {
  scoringType: string;
  rule: string;
  ruleName: string;
  points: number;
  base: number;
  clippedBy?: string;
  inWindow: boolean;
}

/** An event held back as a machine's: it earned nothing while held (SPEC, "Machines are not people"). */
export interface HeldView {
  signal: 'crawler' | 'honeypot' | 'delivery' | 'burst';
  /** Why, for people: "likely a scanner: clicked 3 links within 1 s". */
  reason: string;
  /** Held for good (a machine's user agent, a honeypot click); otherwise released by a person's behaviour. */
  permanent: boolean;
  /** When a person's behaviour released it (it is scored at its own time since), or null while held. */
  releasedAt: string | null;
}

/** A lead read's count of its held events. */
export interface HeldCounts {
  /** Held now (earning nothing). */
  events: number;
  /** Of those, held for good. */
  permanent: number;
  /** Held once and released by a person's behaviour. */
  released: number;
  /** Held now, by signal. */
  bySignal: Partial<Record<HeldView['signal'], number>>;
}

export interface EventView {
  /** As the client sent it (or the random one given to a message that had none). */
  messageId: string;
  /** Which kind of key wrote it: dedupe is per source kind. */
  source: 'site' | 'server';
  type: string;
  event: string | null;
  properties: Record<string, unknown>;
  timestamp: string;
  receivedAt: string;
  timeNote?: string;
  points: number;
  reasons: EventReason[];
  /** The event's ledger entries in every scoring type: its rule and cap entries, held and release entries. */
  ledger?: LedgerLine[];
  held?: HeldView;
}

export interface EventCursor {
  ts: number;
  id: string;
}

export interface EventsPage {
  events: EventView[];
  next: EventCursor | null;
  /**
   * The entries no event carries (opening balance, penalties, absence rules, expiries, the clamp) timed within the
   * page's stretch: from its oldest event (the very start on the last page) to the previous page's oldest (now on
   * the first). Over all pages, these and the events' entries are the whole ledger.
   */
  ledger?: LedgerLine[];
}

/** A page of `GET /v1/export`: a lead's scored events as Segment messages, oldest first. */
export interface ExportPage {
  messages: JsonObject[];
  next: EventCursor | null;
}

/** An outbox row as a merge hands it over (a queued notification): the receiver delivers it under the same message id. */
export interface HandedNotification {
  dest: string;
  kind: string;
  payload: string;
  attempts: number;
  nextAt: number;
  lastError: string | null;
}

/**
 * A lead's response SLA for one team (the lead object's `slas` row), as a merge hands it over: the receiver
 * continues it (worker/lead/sla.ts, `adopt`).
 */
export interface SlaRecord {
  team: string;
  scoringType: string;
  level: string;
  startedAt: number;
  dueAt: number;
  state: 'open' | 'met' | 'breached' | 'closed';
  metAt: number | null;
  metBy: string | null;
  note: string | null;
  breachedAt: number | null;
  closedAt: number | null;
}

/** Where a scoring type of the giver stood when it was merged: the receiver notifies only moves beyond it. */
export interface LevelMark {
  scoringType: string;
  level: string;
  levelName: string;
  stage: string | null;
  stageName: string | null;
}

export type AbsorbResult =
  /**
   * A page of the giver's history: events up to `lastSeq` (insertion order), its queued notifications up to
   * outbox row `outboxSeq`; `more` if others follow. `levels`: where the giver stood, `slas`: its response
   * SLAs (first page only).
   */
  | { accepted: true; events: LeadEvent[]; aliases: string[]; lastSeq: number; more: boolean; notifications?: HandedNotification[]; outboxSeq?: number; levels?: LevelMark[] | null; slas?: SlaRecord[] }
  | { accepted: false; forwardTo?: string };

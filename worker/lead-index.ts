/**
 * The D1 lead index: one compact row per lead, written by each lead's outbox when its level, stage, fit or
 * identity changes, so lists and insights are queries instead of fan-outs over objects. The schema is in
 * migrations/ (applied by `npm start`, the tests and `wrangler d1 migrations apply`).
 */
import type { LearnState } from '../shared/learn/record.js';

export interface IndexRow {
  /** The object holding the lead (`u:…`, `e:…`, `a:…`). */
  key: string;
  id: string;
  email: string | null;
  userId: string | null;
  level: string;
  levelRank: number;
  levelSince: number | null;
  engagementScore: number;
  leadScore: number;
  momentum: number;
  stage: string | null;
  /** Null when the model has no fit section (or the row was written before fit existed). */
  fitGrade: string | null;
  fitScore: number | null;
  doNotContact: boolean;
  lastActivityAt: number | null;
  model: string;
  modelVersion: number;
  updatedAt: number;
  /** The teams the routes send the lead to as it is now (its level's and stage's routes); none for anonymous visitors. */
  teams: string[];
  /** The lead's most pressing response SLA (worker/lead/sla.ts): its team, state and due time. */
  slaTeam: string | null;
  slaState: string | null;
  slaDueAt: number | null;
  /** When the lead was first seen (its first level), and its first touch (worker/lead/attribution.ts). */
  firstSeenAt?: number | null;
  source?: string | null;
  medium?: string | null;
  campaign?: string | null;
  referrer?: string | null;
  /** Its first `Opportunity Created` or `Deal Won`, and its first `Opportunity Created`. */
  convertedAt?: number | null;
  opportunityAt?: number | null;
  /** The lead's first personalized or held-out page (worker/experience.ts), and which of the two it was. */
  exposedAt?: number | null;
  holdout?: boolean | null;
  /** The lead's learning record (shared/learn/record.ts); null in rows written before it existed. */
  learning?: LearnState | null;
}

/** One change of the lead's level (the model's first scoring type), oldest first in IndexNews.levels. */
export interface LevelSpanNews {
  at: number;
  from: string;
  to: string;
  /** The rank of `to` among the model's levels (0: the lowest). */
  rank: number;
  /** The kind of reason (tier, floor, surge, ladder, suppressed, start). */
  reason: string;
}

export interface IndexNews {
  upsert?: IndexRow;
  /** The lead's whole level history, when it may have changed: it replaces the rows the index holds. */
  levels?: LevelSpanNews[];
  /** Ids merged into this lead: their own rows go. */
  remove?: string[];
}

/**
 * Applies one outbox row. `version` (the outbox sequence number) orders rows of one lead, so a retried older
 * row never overwrites a newer one that got through first.
 */
export async function writeIndex(db: D1Database, version: number, news: IndexNews): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  if (news.upsert) {
    const r = news.upsert;
    statements.push(
      db
        .prepare(
          `INSERT INTO leads (key, id, email, user_id, level, level_rank, level_since, engagement_score, lead_score, momentum, stage,
             do_not_contact, last_activity_at, model, model_version, updated_at, version, fit_grade, fit_score, teams, sla_team, sla_state, sla_due_at,
             first_seen_at, source, medium, campaign, referrer, converted_at, opportunity_at, exposed_at, holdout, learning)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)
           ON CONFLICT (key) DO UPDATE SET id = excluded.id, email = excluded.email, user_id = excluded.user_id, level = excluded.level,
             level_rank = excluded.level_rank, level_since = excluded.level_since, engagement_score = excluded.engagement_score,
             lead_score = excluded.lead_score, momentum = excluded.momentum, stage = excluded.stage, do_not_contact = excluded.do_not_contact,
             last_activity_at = excluded.last_activity_at, model = excluded.model, model_version = excluded.model_version,
             updated_at = excluded.updated_at, version = excluded.version, fit_grade = excluded.fit_grade, fit_score = excluded.fit_score,
             teams = excluded.teams, sla_team = excluded.sla_team, sla_state = excluded.sla_state, sla_due_at = excluded.sla_due_at,
             first_seen_at = excluded.first_seen_at, source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
             referrer = excluded.referrer, converted_at = excluded.converted_at, opportunity_at = excluded.opportunity_at,
             exposed_at = excluded.exposed_at, holdout = excluded.holdout, learning = excluded.learning
           WHERE excluded.version > leads.version`,
        )
        .bind(r.key, r.id, r.email, r.userId, r.level, r.levelRank, r.levelSince, r.engagementScore, r.leadScore, r.momentum, r.stage, r.doNotContact ? 1 : 0, r.lastActivityAt, r.model, r.modelVersion, r.updatedAt, version, r.fitGrade, r.fitScore, JSON.stringify(r.teams ?? []), r.slaTeam ?? null, r.slaState ?? null, r.slaDueAt ?? null,
          r.firstSeenAt ?? null, r.source ?? null, r.medium ?? null, r.campaign ?? null, r.referrer ?? null, r.convertedAt ?? null, r.opportunityAt ?? null,
          r.exposedAt ?? null, r.holdout === undefined || r.holdout === null ? null : r.holdout ? 1 : 0, r.learning ? JSON.stringify(r.learning) : null),
    );
    // The lead's teams as rows (for `team=`), rewritten only when the upsert above took: an older row retried
    // late leaves the newer teams alone.
    const current = '(SELECT version FROM leads WHERE key = ?1) = ?2';
    statements.push(db.prepare(`DELETE FROM lead_teams WHERE lead_key = ?1 AND ${current}`).bind(r.key, version));
    for (const team of r.teams ?? []) statements.push(db.prepare(`INSERT OR IGNORE INTO lead_teams (team, lead_key) SELECT ?3, ?1 WHERE ${current}`).bind(r.key, version, team));
    if (news.levels) statements.push(...levelStatements(db, r.key, version, news.levels, current));
  }
  for (const key of news.remove ?? []) {
    statements.push(db.prepare('DELETE FROM leads WHERE key = ?1').bind(key));
    statements.push(db.prepare('DELETE FROM lead_teams WHERE lead_key = ?1').bind(key));
    statements.push(db.prepare('DELETE FROM level_changes WHERE lead_key = ?1').bind(key));
  }
  if (statements.length) await db.batch(statements);
}

/**
 * The lead's level history as rows, replacing what the index held for it, under the same condition as its
 * teams: only when the upsert took. Each row gets its end (the next change's time) and where it went; the
 * whole list is one bound JSON value, so a long history is still two statements.
 */
function levelStatements(db: D1Database, key: string, version: number, levels: readonly LevelSpanNews[], current: string): D1PreparedStatement[] {
  const sorted = [...levels].sort((a, b) => a.at - b.at);
  const rows = sorted.map((l, i) => ({ at: l.at, until: sorted[i + 1]?.at ?? null, from: l.from, to: l.to, rank: l.rank, next: sorted[i + 1]?.rank ?? null, reason: l.reason }));
  return [
    db.prepare(`DELETE FROM level_changes WHERE lead_key = ?1 AND ${current}`).bind(key, version),
    db
      .prepare(
        `INSERT OR REPLACE INTO level_changes (lead_key, at, until, from_level, to_level, to_rank, next_rank, reason)
         SELECT ?1, json_extract(j.value, '$.at'), json_extract(j.value, '$.until'), json_extract(j.value, '$.from'), json_extract(j.value, '$.to'),
           json_extract(j.value, '$.rank'), json_extract(j.value, '$.next'), json_extract(j.value, '$.reason')
         FROM json_each(?3) AS j WHERE ${current}`,
      )
      .bind(key, version, JSON.stringify(rows)),
  ];
}

/** Whether a lead of exactly this id is in the index (one lookup on the lower(id) index of migration 0006). */
export async function isIndexed(db: D1Database, id: string): Promise<boolean> {
  return (await db.prepare('SELECT 1 AS v FROM leads WHERE lower(id) = lower(?1) AND id = ?1 LIMIT 1').bind(id).first()) !== null;
}

/** Erasure: the rows of these keys go from the index. */
export async function unindex(db: D1Database, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 50) {
    const chunk = keys.slice(i, i + 50);
    const marks = chunk.map(() => '?').join(', ');
    await db.batch([
      db.prepare(`DELETE FROM leads WHERE key IN (${marks})`).bind(...chunk),
      db.prepare(`DELETE FROM lead_teams WHERE lead_key IN (${marks})`).bind(...chunk),
      db.prepare(`DELETE FROM level_changes WHERE lead_key IN (${marks})`).bind(...chunk),
    ]);
  }
}

/** The expression migrations/0007_sla_team.sql indexes, character for character. */
const SLA_FIRST = "(CASE WHEN sla_state = 'open' THEN -sla_due_at ELSE -9e15 END) DESC";

/** How the work queue may be ordered: `priority` is level, then momentum, then recency (SPEC). */
export const QUEUE_ORDERS = {
  priority: ['level_rank DESC', 'momentum DESC', 'COALESCE(last_activity_at, 0) DESC'],
  recent: ['COALESCE(last_activity_at, 0) DESC'],
  score: ['lead_score DESC', 'level_rank DESC'],
  // Open SLAs first, the earliest due first (negated: every term of an order descends); then the rest by priority.
  sla: [SLA_FIRST, 'level_rank DESC', 'momentum DESC'],
} as const;
export type QueueOrder = keyof typeof QUEUE_ORDERS;

export interface QueueQuery {
  levels?: string[];
  stages?: string[];
  /** Fit grades (A–D). */
  fits?: string[];
  /** Team ids: leads the routes send to any of them now. */
  teams?: string[];
  /** The start of an id or an email. */
  q?: string;
  /** Leave out leads that must not be contacted. */
  contactable?: boolean;
  order: QueueOrder;
  limit: number;
  /** The sort values and key of the last row of the previous page. */
  after?: (string | number)[];
}

interface IndexRecord {
  key: string;
  id: string;
  email: string | null;
  user_id: string | null;
  level: string;
  level_rank: number;
  level_since: number | null;
  engagement_score: number;
  lead_score: number;
  momentum: number;
  stage: string | null;
  fit_grade: string | null;
  fit_score: number | null;
  do_not_contact: number;
  last_activity_at: number | null;
  model: string;
  model_version: number;
  updated_at: number;
  teams: string | null;
  sla_team: string | null;
  sla_state: string | null;
  sla_due_at: number | null;
}

const sortColumn = (term: string) => term.replace(/ (ASC|DESC)$/, '');

/**
 * One page of the work queue: a single indexed query with keyset pagination (the row after the cursor's sort
 * values, ties broken by key), so a page costs the same at the first lead as at the 100,000th.
 */
export async function queryQueue(db: D1Database, query: QueueQuery): Promise<{ rows: IndexRow[]; after: (string | number)[] | null }> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const list = (column: string, values: string[]) => {
    where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    args.push(...values);
  };
  if (query.levels?.length) list('level', query.levels);
  if (query.stages?.length) list('stage', query.stages);
  if (query.fits?.length) list('fit_grade', query.fits);
  if (query.teams?.length) {
    where.push(`key IN (SELECT lead_key FROM lead_teams WHERE team IN (${query.teams.map(() => '?').join(', ')}))`);
    args.push(...query.teams);
  }
  if (query.contactable) where.push('do_not_contact = 0');
  if (query.q) {
    // A prefix as a range (from the prefix up to it followed by the highest character), which the indexes on
    // lower(id) and lower(email) answer; ASCII letters match either case, as SQLite's lower() folds them.
    const from = query.q.toLowerCase();
    const to = from + '\u{10FFFF}';
    where.push('((lower(id) >= ? AND lower(id) < ?) OR (lower(email) >= ? AND lower(email) < ?))');
    args.push(from, to, from, to);
  }
  const terms = QUEUE_ORDERS[query.order];
  const columns = [...terms.map(sortColumn), 'key'];
  if (query.after) {
    // (a, b, key) after (x, y, k) in an order where a and b descend and key ascends.
    const ors: string[] = [];
    for (let i = 0; i < columns.length; i++) {
      const eq = columns.slice(0, i).map((c) => `${c} = ?`);
      const cmp = i < terms.length ? `${columns[i]} < ?` : `${columns[i]} > ?`;
      ors.push(`(${[...eq, cmp].join(' AND ')})`);
      args.push(...query.after.slice(0, i + 1));
    }
    where.push(`(${ors.join(' OR ')})`);
  }
  const sql = `SELECT *, ${columns.map((c, i) => `${c} AS s${i}`).join(', ')} FROM leads ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${[...terms, 'key ASC'].join(', ')} LIMIT ?`;
  const { results } = await db.prepare(sql).bind(...args, query.limit + 1).all<IndexRecord & Record<string, string | number>>();
  const page = results.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    rows: page.map(toRow),
    after: results.length > query.limit && last ? columns.map((_, i) => last[`s${i}`]) : null,
  };
}

const toRow = (r: IndexRecord): IndexRow => ({
  key: r.key,
  id: r.id,
  email: r.email,
  userId: r.user_id,
  level: r.level,
  levelRank: r.level_rank,
  levelSince: r.level_since,
  engagementScore: r.engagement_score,
  leadScore: r.lead_score,
  momentum: r.momentum,
  stage: r.stage,
  fitGrade: r.fit_grade,
  fitScore: r.fit_score,
  doNotContact: r.do_not_contact === 1,
  lastActivityAt: r.last_activity_at,
  model: r.model,
  modelVersion: r.model_version,
  updatedAt: r.updated_at,
  teams: r.teams ? (JSON.parse(r.teams) as string[]) : [],
  slaTeam: r.sla_team,
  slaState: r.sla_state,
  slaDueAt: r.sla_due_at,
});

/** A lead's level history as the index keeps it (migrations/0010_insights.sql), oldest first: the profile's chart. */
export async function levelChanges(db: D1Database, key: string): Promise<{ at: number; until: number | null; level: string; rank: number }[]> {
  const { results } = await db.prepare('SELECT at, until, to_level AS level, to_rank AS rank FROM level_changes WHERE lead_key = ? ORDER BY at').bind(key).all<{ at: number; until: number | null; level: string; rank: number }>();
  return results;
}

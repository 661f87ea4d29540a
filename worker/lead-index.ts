/**
 * The D1 lead index: one compact row per lead, written by each lead's outbox when its level, stage or
 * identity changes, so lists and insights are queries instead of fan-outs over objects. The schema is in
 * migrations/ (applied by `npm start`, the tests and `wrangler d1 migrations apply`).
 */

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
  doNotContact: boolean;
  lastActivityAt: number | null;
  model: string;
  modelVersion: number;
  updatedAt: number;
}

export interface IndexNews {
  upsert?: IndexRow;
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
             do_not_contact, last_activity_at, model, model_version, updated_at, version)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
           ON CONFLICT (key) DO UPDATE SET id = excluded.id, email = excluded.email, user_id = excluded.user_id, level = excluded.level,
             level_rank = excluded.level_rank, level_since = excluded.level_since, engagement_score = excluded.engagement_score,
             lead_score = excluded.lead_score, momentum = excluded.momentum, stage = excluded.stage, do_not_contact = excluded.do_not_contact,
             last_activity_at = excluded.last_activity_at, model = excluded.model, model_version = excluded.model_version,
             updated_at = excluded.updated_at, version = excluded.version
           WHERE excluded.version > leads.version`,
        )
        .bind(r.key, r.id, r.email, r.userId, r.level, r.levelRank, r.levelSince, r.engagementScore, r.leadScore, r.momentum, r.stage, r.doNotContact ? 1 : 0, r.lastActivityAt, r.model, r.modelVersion, r.updatedAt, version),
    );
  }
  for (const key of news.remove ?? []) statements.push(db.prepare('DELETE FROM leads WHERE key = ?1').bind(key));
  if (statements.length) await db.batch(statements);
}

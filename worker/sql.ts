/** A small layer over the Durable Object's synchronous SQLite API, and the schema as numbered migrations. */

export type Row = Record<string, SqlStorageValue>;

export function all<T = Row>(sql: SqlStorage, query: string, ...params: SqlStorageValue[]): T[] {
  return sql.exec(query, ...params).toArray() as T[];
}

export function one<T = Row>(sql: SqlStorage, query: string, ...params: SqlStorageValue[]): T | undefined {
  return all<T>(sql, query, ...params)[0];
}

/** Append-only: a deployed object applies the ones it has not seen, in order. Never edit a shipped one. */
export const MIGRATIONS: string[] = [
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
];

export function migrate(sql: SqlStorage): void {
  sql.exec('CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY)');
  const done = (one<{ n: number }>(sql, 'SELECT COALESCE(MAX(id), -1) AS n FROM _migrations')?.n ?? -1) as number;
  for (let i = done + 1; i < MIGRATIONS.length; i++) {
    sql.exec(MIGRATIONS[i]);
    sql.exec('INSERT INTO _migrations (id) VALUES (?)', i);
  }
}

/**
 * One multi-row INSERT per chunk instead of a statement per row: each statement crosses into the runtime, and
 * a Durable Object statement takes at most 100 bound parameters.
 */
export function insertRows(sql: SqlStorage, head: string, rows: SqlStorageValue[][]): void {
  if (!rows.length) return;
  const width = rows[0].length;
  const per = Math.floor(100 / width);
  const tuple = `(${Array(width).fill('?').join(', ')})`;
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    sql.exec(`${head} VALUES ${chunk.map(() => tuple).join(', ')}`, ...chunk.flat());
  }
}

/**
 * The ceiling: the least work any collector must do per batch on this runtime. The Worker parses the batch and
 * calls one SQLite-backed Durable Object per lead, named as the collector names it (`a:<anonymousId>` for a
 * browser, `u:<userId>` for a server); the object stores the batch's rows with one multi-row INSERT, which is
 * durable before the answer leaves. No keys, validation, scoring or ledger: what the collector costs above this
 * is its own code, not the runtime's.
 */
import { DurableObject } from 'cloudflare:workers';

interface Env {
  LEAD: DurableObjectNamespace<Lead>;
}

interface Message {
  messageId: string;
  anonymousId?: string;
  userId?: string;
  timestamp?: string;
}

type Row = [messageId: string, ts: number, body: string];

export class Lead extends DurableObject<Env> {
  #calls = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS events (message_id TEXT PRIMARY KEY, ts INTEGER NOT NULL, body TEXT NOT NULL)');
  }

  /** `cold`: the first call since the object was constructed, so the bench can tell an evicted object for sure. */
  ingest(rows: Row[]): { accepted: number; cold: boolean } {
    let accepted = 0;
    // A Durable Object statement takes at most 100 bound parameters: 33 rows of 3.
    for (let i = 0; i < rows.length; i += 33) {
      const chunk = rows.slice(i, i + 33);
      const sql = `INSERT OR IGNORE INTO events (message_id, ts, body) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`;
      // rowsWritten counts each new event twice: its row and its primary-key index entry.
      accepted += this.ctx.storage.sql.exec(sql, ...chunk.flat()).rowsWritten / 2;
    }
    return { accepted, cold: this.#calls++ === 0 };
  }

  stats(): { events: number; storageBytes: number } {
    const events = this.ctx.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events').one().n;
    return { events, storageBytes: this.ctx.storage.sql.databaseSize };
  }
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === 'POST' && url.pathname === '/v1/batch') {
      const { batch = [] } = JSON.parse(await req.text()) as { batch?: Message[] };
      const now = Date.now();
      const leads = new Map<string, Row[]>();
      for (const m of batch) {
        const key = m.userId ? `u:${m.userId}` : `a:${m.anonymousId}`;
        const rows = leads.get(key) ?? [];
        rows.push([m.messageId, m.timestamp ? Date.parse(m.timestamp) : now, JSON.stringify(m)]);
        leads.set(key, rows);
      }
      const results = await Promise.all([...leads].map(([key, rows]) => env.LEAD.getByName(key).ingest(rows)));
      return Response.json({ success: true, accepted: results.reduce((s, r) => s + r.accepted, 0), cold: results.some((r) => r.cold) });
    }
    // The same year of events as the collector's storage figure, in a bare table: the floor for bytes per event.
    const lead = /^\/v1\/leads\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && lead) return Response.json(await env.LEAD.getByName(`u:${decodeURIComponent(lead[1])}`).stats());
    return Response.json({ ok: true });
  },
};

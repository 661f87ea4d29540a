/**
 * The lead's storage schema: a new object gets in one go what the migrations make, and an object created
 * under the previous schema upgrades on its next start and keeps its scores, its history and its dedupe.
 */
import { abortAllDurableObjects, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../worker/lead/store.js';
import { DAY, drain, iso, leadObject, readLead, serverBatch, uid } from './helpers.js';

const TABLES = ['meta', 'events', 'checkpoints', 'levels', 'aliases', 'rollups', 'timers', 'outbox', 'buckets'];

/** The schema as SQLite holds it, spelled alike whichever statements made it (a rename quotes the name). */
function schemaOf(sql: SqlStorage): string[] {
  return sql
    .exec<{ type: string; name: string; sql: string | null }>("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '_cf_%' ORDER BY type, name")
    .toArray()
    .map((r) => `${r.type} ${r.name}: ${(r.sql ?? '').replace(/"/g, '').replace(/\s+/g, ' ').replace(/\s*([(),])\s*/g, '$1').replace(/^CREATE TABLE \w+/, 'CREATE TABLE')}`);
}

const schema = (key: string) => runInDurableObject(leadObject(key), (_, state) => schemaOf(state.storage.sql));

describe('lead storage schema', () => {
  it('a new object has exactly the schema the migrations make, and every migration marked done', async () => {
    const fresh = uid('u');
    await serverBatch([{ type: 'page', userId: fresh, messageId: uid('m'), properties: { path: '/' } }]);
    const migrated = await runInDurableObject(leadObject(`u:${uid('u')}`), (_, state) => {
      const sql = state.storage.sql;
      sql.exec('CREATE TABLE _migrations (id INTEGER PRIMARY KEY)');
      MIGRATIONS.forEach((m, i) => (sql.exec(m), sql.exec('INSERT INTO _migrations (id) VALUES (?)', i)));
      return schemaOf(sql).filter((t) => !t.startsWith('table _migrations:'));
    });
    expect(await schema(`u:${fresh}`)).toEqual(migrated);
    // The migrations done are a number in meta, not a table of their own (a page per lead).
    const done = await runInDurableObject(leadObject(`u:${fresh}`), (_, state) => state.storage.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'schema'").toArray());
    expect(done).toEqual([{ v: String(MIGRATIONS.length - 1) }]);
  });

  it('an object created under the previous schema upgrades when it next starts, keeping its scores and dedupe', async () => {
    // A history with a level change, a late event and a penalty-free gap, scored by the current code.
    const now = Date.now();
    const source = uid('u');
    const ids = Array.from({ length: 6 }, () => uid('m'));
    const history = [
      { type: 'page', userId: source, messageId: ids[0], timestamp: iso(now - 20 * DAY), properties: { path: '/pricing' } },
      { type: 'page', userId: source, messageId: ids[1], timestamp: iso(now - 12 * DAY), properties: { path: '/docs/api' } },
      { type: 'track', userId: source, messageId: ids[2], event: 'Webinar Attended', timestamp: iso(now - 9 * DAY), properties: {} },
      { type: 'track', userId: source, messageId: ids[3], event: 'Form Submitted', timestamp: iso(now - 2 * DAY), properties: { kind: 'demo_request' } },
    ];
    await serverBatch(history);
    await serverBatch([{ type: 'page', userId: source, messageId: ids[4], timestamp: iso(now - 15 * DAY), properties: { path: '/' } }]);
    await drain(`u:${source}`);
    const before = await (await readLead(source)).json<any>();

    // The same rows in an object whose schema is the one migrations 0 and 1 made (the previous schema).
    const rows = await runInDurableObject(leadObject(`u:${source}`), (_, state) =>
      Object.fromEntries(TABLES.map((t) => [t, state.storage.sql.exec(`SELECT * FROM ${t}`).toArray()])),
    );
    const target = uid('u');
    await runInDurableObject(leadObject(`u:${target}`), (_, state) => {
      const sql = state.storage.sql;
      sql.exec('CREATE TABLE _migrations (id INTEGER PRIMARY KEY)');
      for (const i of [0, 1]) sql.exec(MIGRATIONS[i]), sql.exec('INSERT INTO _migrations (id) VALUES (?)', i);
      for (const [table, list] of Object.entries(rows)) {
        for (const row of list as Record<string, SqlStorageValue>[]) {
          if (table === 'meta' && row.k === 'key') row.v = `u:${target}`;
          if (table === 'meta' && row.k === 'user_id') row.v = target;
          // Columns later migrations added are empty in this history (no event was held): the old table has none.
          const cols = Object.keys(row).filter((k) => !(table === 'events' && ['held', 'released_at'].includes(k) && row[k] === null));
          sql.exec(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, ...cols.map((k) => row[k]));
        }
      }
    });
    expect(await schema(`u:${target}`)).not.toEqual(await schema(`u:${source}`));
    await abortAllDurableObjects(); // the next start finds the previous schema

    const after = await (await readLead(target)).json<any>();
    const same = ({ engagementScore, leadScore, level, levelSince, events, history: h }: any) => ({ engagementScore, leadScore, level, levelSince, events, history: h });
    expect(same(after)).toEqual(same(before));
    expect(await schema(`u:${target}`)).toEqual(await schema(`u:${source}`));

    // Scoring goes on alike: a retry is a duplicate, a late event rewinds, a new one folds in.
    const more = (userId: string) => [
      { type: 'page', userId, messageId: ids[0], timestamp: iso(now - 20 * DAY), properties: { path: '/pricing' } },
      { type: 'page', userId, messageId: ids[5], timestamp: iso(now - 10 * DAY), properties: { path: '/pricing' } },
      { type: 'track', userId, messageId: uid('m'), event: 'Email Link Clicked', properties: {} },
    ];
    const answers = [await (await serverBatch(more(source))).json<any>(), await (await serverBatch(more(target))).json<any>()];
    expect(answers.map((a) => [a.accepted, a.duplicates])).toEqual([[2, 1], [2, 1]]);
    await drain(`u:${source}`);
    await drain(`u:${target}`);
    expect(same(await (await readLead(target)).json<any>())).toEqual(same(await (await readLead(source)).json<any>()));
  });
});

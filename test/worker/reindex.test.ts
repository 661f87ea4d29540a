/**
 * Rebuilding the lead index from the lead objects: the directory knows every lead (registered through its
 * outbox, deregistered by merges and erasure), and the Reindex workflow, run for real through its binding, puts
 * every live lead's row back as the normal path writes it.
 */
import { introspectWorkflowInstance, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { DIRECTORY_SHARDS, directoryShard, shardOf } from '../../worker/directory.js';
import { call, drain, env, leadObject, restart, SECRET, serverBatch, uid } from './helpers.js';

const registered = (key: string) => runInDurableObject(env.DIRECTORY.getByName(`shard:${shardOf(key)}`), (_, state) => state.storage.sql.exec('SELECT 1 FROM leads WHERE key = ?', key).toArray().length === 1);

/** The index rows of these keys, without what a rewrite changes by nature: when it was written, and its outbox sequence. */
async function rows(keys: string[]): Promise<Record<string, unknown>[]> {
  const { results } = await env.INDEX.prepare(`SELECT * FROM leads WHERE key IN (${keys.map(() => '?').join(', ')}) ORDER BY key`)
    .bind(...keys)
    .all<Record<string, unknown>>();
  return results.map(({ updated_at: _u, version: _v, ...rest }) => rest);
}

async function runReindex(body?: unknown): Promise<any> {
  const res = await call('/v1/admin/reindex', { method: 'POST', headers: { Authorization: SECRET }, ...(body === undefined ? {} : { json: body }) });
  expect(res.status).toBe(202);
  const { id } = await res.json<{ id: string }>();
  for (let i = 0; i < 600; i++) {
    const s = await (await call(`/v1/admin/reindex/${id}`, { headers: { Authorization: SECRET } })).json<any>();
    if (s.status === 'complete') return s;
    if (s.status === 'errored' || s.status === 'terminated') throw new Error(`reindex ${s.status}: ${JSON.stringify(s.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('reindex did not finish');
}

/** Five kinds of lead: anonymous, email, userId, a merged pair (anonymous into userId), and one erased. */
async function someLeads() {
  const anon = uid('a');
  const email = `${uid('ri')}@example.com`;
  const user = uid('u');
  const mergedAnon = uid('a');
  const mergedUser = uid('u');
  const erased = uid('u');
  await serverBatch([{ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/pricing' } }]);
  await serverBatch([{ type: 'identify', anonymousId: uid('a'), messageId: uid('m'), traits: { email } }]);
  await serverBatch([{ type: 'track', userId: user, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } }]);
  await serverBatch([{ type: 'page', anonymousId: mergedAnon, messageId: uid('m'), properties: { path: '/pricing' } }]);
  await serverBatch([{ type: 'identify', userId: mergedUser, anonymousId: mergedAnon, messageId: uid('m') }]);
  await serverBatch([{ type: 'page', userId: erased, messageId: uid('m'), properties: { path: '/' } }]);
  const live = [`a:${anon}`, `e:${email}`, `u:${user}`, `u:${mergedUser}`];
  for (const key of [...live, `a:${mergedAnon}`, `u:${erased}`]) await drain(key);
  expect((await call(`/v1/leads/${erased}`, { method: 'DELETE', headers: { Authorization: SECRET } })).status).toBe(200);
  return { live, mergedAway: `a:${mergedAnon}`, erased: `u:${erased}` };
}

describe('the lead directory', () => {
  it('registers a lead with its first event, keeps it across a restart, and lets go of merged-away and erased ids', async () => {
    const { live, mergedAway, erased } = await someLeads();
    for (const key of live) expect(await registered(key), key).toBe(true);
    await restart(...live);
    for (const key of live) expect(await registered(key), key).toBe(true);
    // The merged-away anonymous id did register (its first batch), and the merge took it out again.
    expect(await registered(mergedAway)).toBe(false);
    expect(await registered(erased)).toBe(false);
  });

  it('commits the registration with the first event: the outbox row and the flag land in the same commit', async () => {
    const anon = uid('a');
    // The alarm is not run: what is stored right after the batch is the commit itself.
    await serverBatch([{ type: 'page', anonymousId: anon, messageId: uid('m'), properties: { path: '/' } }]);
    const stored = await runInDurableObject(leadObject(`a:${anon}`), (_, state) => ({
      flag: state.storage.sql.exec("SELECT v FROM meta WHERE k = 'directory'").toArray().length,
      events: state.storage.sql.exec('SELECT COUNT(*) AS n FROM events').one().n,
      rows: state.storage.sql.exec("SELECT dest, payload FROM outbox WHERE dest = 'directory'").toArray(),
    }));
    expect(stored.events).toBe(1);
    expect(stored.flag).toBe(1);
    // Delivered already (the batch's own delivery) or still queued: either way registered once drained.
    expect(stored.rows.every((r) => JSON.parse(r.payload as string).add?.[0] === `a:${anon}`)).toBe(true);
    await drain(`a:${anon}`);
    expect(await registered(`a:${anon}`)).toBe(true);
  });

  it('backfills a lead stored before the directory existed the next time it loads', async () => {
    const user = uid('u');
    await serverBatch([{ type: 'page', userId: user, messageId: uid('m'), properties: { path: '/' } }]);
    await drain(`u:${user}`);
    // As an object written before this change: no flag, not in the directory.
    await runInDurableObject(leadObject(`u:${user}`), (_, state) => void state.storage.sql.exec("DELETE FROM meta WHERE k = 'directory'"));
    await directoryShard(env, shardOf(`u:${user}`)).apply({ remove: [`u:${user}`] });
    await restart(`u:${user}`);
    expect(await registered(`u:${user}`)).toBe(false);
    await call(`/v1/leads/${user}`, { headers: { Authorization: SECRET } }); // a read loads it
    await drain(`u:${user}`);
    expect(await registered(`u:${user}`)).toBe(true);
  });

  it('pages a shard in key order, bounded', async () => {
    const shard = directoryShard(env, 3);
    const keys = Array.from({ length: 7 }, (_, i) => `test:page:${uid('k')}:${i}`);
    await shard.apply({ add: keys });
    const seen: string[] = [];
    for (let page = await shard.list('test:page:', 3); page.length; page = await shard.list(page[page.length - 1], 3)) {
      expect(page.length).toBeLessThanOrEqual(3);
      seen.push(...page.filter((k) => k.startsWith('test:page:')));
      if (!page[page.length - 1].startsWith('test:page:')) break;
    }
    expect(seen).toEqual([...keys].sort());
    await shard.apply({ remove: keys });
    expect((await shard.list('test:page:', 1000)).filter((k) => k.startsWith('test:page:'))).toEqual([]);
    expect(DIRECTORY_SHARDS).toBe(16);
  });
});

describe('reindex', () => {
  it('puts back every live lead’s row as it was after the index is wiped; merged-away and erased stay out; a second run changes nothing', async () => {
    const { live, mergedAway, erased } = await someLeads();
    const before = await rows(live);
    expect(before.map((r) => r.key)).toEqual([...live].sort());
    await env.INDEX.exec('DELETE FROM leads');
    expect(await rows(live)).toEqual([]);

    const first = await runReindex();
    expect(first.progress).toMatchObject({ shards: 16, shardsDone: 16 });
    expect(first.output).toEqual(first.progress);
    expect(first.progress.reindexed).toBeGreaterThanOrEqual(live.length);
    expect(await rows(live)).toEqual(before);
    expect(await rows([mergedAway, erased])).toEqual([]);
    const count = async () => (await env.INDEX.prepare('SELECT COUNT(*) AS n FROM leads').first<{ n: number }>())!.n;
    const total = await count();
    // Every key the directory lists was reindexed or found gone: nothing counted twice.
    const listed = (await Promise.all(Array.from({ length: DIRECTORY_SHARDS }, (_, s) => directoryShard(env, s).count()))).reduce((a, b) => a + b, 0);
    expect(first.progress.reindexed + first.progress.queued).toBe(listed);

    const second = await runReindex();
    expect(second.progress.reindexed).toBe(first.progress.reindexed);
    expect(await rows(live)).toEqual(before);
    expect(await count()).toBe(total);
  });

  it('a step that fails is retried without doubling a row or a count', async () => {
    const { live } = await someLeads();
    const before = await rows(live);
    await env.INDEX.exec('DELETE FROM leads');
    const id = uid('run');
    const shard = shardOf(live[0]);
    const instance = await introspectWorkflowInstance(env.REINDEX, id);
    let output: any;
    try {
      // The page holding the first lead fails once (the workflow retries it 2 s later) before it goes through.
      await instance.modify(async (m) => {
        await m.mockStepError({ name: `shard ${shard} page 0` }, new Error('interrupted'), 1);
      });
      await env.REINDEX.create({ id });
      await instance.waitForStatus('complete');
      output = await instance.getOutput();
      const status = await (await call(`/v1/admin/reindex/${id}`, { headers: { Authorization: SECRET } })).json<any>();
      expect(status).toMatchObject({ status: 'complete', progress: output });
    } finally {
      await instance.dispose();
    }
    const listed = (await Promise.all(Array.from({ length: DIRECTORY_SHARDS }, (_, s) => directoryShard(env, s).count()))).reduce((a, b) => a + b, 0);
    expect(output.reindexed + output.queued).toBe(listed);
    expect(await rows(live)).toEqual(before);
  }, 30_000);
});

describe('reindex from the index (a deployment upgraded from before the directory)', () => {
  it('registers the leads the D1 index still lists, which a plain run cannot find', async () => {
    const user = uid('u');
    await serverBatch([{ type: 'page', userId: user, messageId: uid('m'), properties: { path: '/pricing' } }]);
    await drain(`u:${user}`);
    const before = await rows([`u:${user}`]);
    // As an object written before this change, at rest: no flag, not in the directory, its index row present.
    await runInDurableObject(leadObject(`u:${user}`), (_, state) => void state.storage.sql.exec("DELETE FROM meta WHERE k = 'directory'"));
    await directoryShard(env, shardOf(`u:${user}`)).apply({ remove: [`u:${user}`] });
    await restart(`u:${user}`);

    await runReindex();
    expect(await registered(`u:${user}`)).toBe(false);
    const run = await runReindex({ fromIndex: true });
    expect(run.progress.fromIndex).toMatchObject({ done: true });
    expect(run.progress.fromIndex.keys).toBeGreaterThanOrEqual(1);
    expect(await registered(`u:${user}`)).toBe(true);

    // From now on the directory alone brings it back.
    await env.INDEX.exec('DELETE FROM leads');
    await runReindex();
    expect(await rows([`u:${user}`])).toEqual(before);
  }, 30_000);
});

describe('the reindex routes', () => {
  it('need the secret key, name bad input, and answer 404 for an unknown run', async () => {
    expect((await call('/v1/admin/reindex', { method: 'POST' })).status).toBe(401);
    const site = await call('/v1/admin/reindex', { method: 'POST', headers: { Authorization: 'Basic ' + btoa('pk_demo:') } });
    expect([401, 403]).toContain(site.status);
    const flag = await call('/v1/admin/reindex', { method: 'POST', headers: { Authorization: SECRET }, json: { fromIndex: 'yes' } });
    expect(await flag.json()).toMatchObject({ error: 'invalid_from_index' });
    const bad = await call('/v1/admin/reindex', { method: 'POST', headers: { Authorization: SECRET }, json: { pageSize: 0 } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_page_size' });
    const unknown = await call('/v1/admin/reindex', { method: 'POST', headers: { Authorization: SECRET }, json: { shards: 3 } });
    expect(await unknown.json()).toMatchObject({ error: 'invalid_body' });
    const notJson = await call('/v1/admin/reindex', { method: 'POST', headers: { Authorization: SECRET, 'Content-Type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    expect((await call('/v1/admin/reindex/no-such-run', { headers: { Authorization: SECRET } })).status).toBe(404);
    expect((await call('/v1/admin/reindex/bad%20id', { headers: { Authorization: SECRET } })).status).toBe(400);
  });
});

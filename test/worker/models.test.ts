/**
 * Model versions: the bundled file is version 1 of the deployment's trail, drafts are checked with the model
 * file's problem lists, a preview replays every stored history through a draft (the leadlevel-models Workflow,
 * run for real through its binding), publishing rescores every lead while ingest goes on, and a rollback is a
 * publication of an earlier version. Every lead read and index row names the version that scored it.
 */
import { runInDurableObject } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonObject, LeadEvent } from '../../shared/events.js';
import { B2B_ENGAGEMENT, B2B_RULES, b2bFloors } from '../../shared/models/b2b-default.js';
import { score } from '../../shared/score.js';
import { compileModel } from '../../shared/compile.js';
import { DIRECTORY_SHARDS, directoryShard } from '../../worker/directory.js';
import type { LeadRpc } from '../../worker/lead/index.js';
import { activeModel, resolveModel } from '../../worker/model.js';
import { compileVersion, draftProblems } from '../../worker/models.js';
import { call, DAY, drain, env, iso, leadObject, readLead, restart, SECRET, serverBatch, uid, waitRun } from './helpers.js';

const auth = { Authorization: SECRET };
const get = async (path: string) => (await call(path, { headers: auth })).json<any>();
const post = (path: string, json?: unknown) => call(path, { method: 'POST', headers: auth, ...(json === undefined ? {} : { json }) });

/** Other pages are worth 40 points instead of 1: one moves a lead from Cold to Warm, two to Engaged. */
const DRAFT = {
  extends: 'b2b-default',
  scoringTypes: [{ ...B2B_ENGAGEMENT, rules: B2B_RULES.map((r) => (r.id === 'other_page' ? { ...r, points: 40 } : r)) }],
};

/** A valid model on its own whose "hot" is called "toasty": the site's content and the SDK name "hot". */
const RENAMED = {
  extends: 'b2b-default',
  scoringTypes: [
    {
      ...B2B_ENGAGEMENT,
      tiers: B2B_ENGAGEMENT.tiers.map((t) => (t.id === 'hot' ? { ...t, id: 'toasty' } : t)),
      floors: b2bFloors('very_hot', 'toasty', 'engaged', 'warm'),
      ladder: { very_hot: 3, toasty: 7, engaged: 14, warm: 30 },
    },
  ],
};

interface Sent {
  type: 'page' | 'track';
  event?: string;
  properties: JsonObject;
  at: number;
  messageId: string;
}
const page = (path: string, at: number): Sent => ({ type: 'page', properties: { path }, at, messageId: uid('m') });
const track = (event: string, properties: JsonObject, at: number): Sent => ({ type: 'track', event, properties, at, messageId: uid('m') });
const msg = (user: string, e: Sent) => ({ type: e.type, userId: user, messageId: e.messageId, event: e.event, properties: e.properties, timestamp: iso(e.at) });
const asEvents = (sent: Sent[]) => sent.map((e): LeadEvent => ({ messageId: e.messageId, type: e.type as 'page', event: e.event as string, properties: e.properties, timestamp: e.at }));

async function published(): Promise<{ seq: number; version: number }> {
  return (await get('/v1/models')).published;
}

async function fileVersion(): Promise<number> {
  const { versions } = await get('/v1/models');
  return versions.find((v: any) => v.source === 'file' && v.fingerprint === activeModel().fingerprint).version;
}

/** The version a lead keeps in its own storage. */
const ownVersion = (key: string) =>
  runInDurableObject(leadObject(key), (_, state) =>
    Object.fromEntries(state.storage.sql.exec<{ k: string; v: string }>("SELECT k, v FROM meta WHERE k LIKE 'model_%' AND k != 'model_target' ORDER BY k").toArray().map((r) => [r.k, r.v])),
  ) as Promise<Record<string, string>>;


async function draft(model: unknown = DRAFT): Promise<number> {
  const res = await post('/v1/models', { model, note: 'other pages count for more', by: 'ops@example.com' });
  expect(res.status).toBe(201);
  return (await res.json<any>()).version;
}

/** Leads with histories that land on different levels, one converted. */
async function someLeads(now: number) {
  const leads: { user: string; sent: Sent[] }[] = [
    [page('/', now - 3 * DAY)],
    [page('/blog/a', now - 2 * DAY)],
    [page('/blog/a', now - 2 * DAY), page('/blog/b', now - DAY)],
    [page('/pricing', now - DAY), track('Form Submitted', { kind: 'webinar_signup' }, now - DAY + 1000), track('Deal Won', { amount: 1000 }, now - 1000)],
    [page('/docs/start', now - 5 * DAY), page('/blog/c', now - 4 * DAY), track('Opportunity Created', {}, now - 2000)],
  ].map((sent) => ({ user: uid('u'), sent }));
  for (const l of leads) expect((await serverBatch(l.sent.map((e) => msg(l.user, e)))).status).toBe(200);
  for (const l of leads) await drain(`u:${l.user}`);
  return leads;
}

afterAll(async () => {
  // The files share one D1: the next one starts with the bundled file published, as a deployment would.
  const v = await fileVersion();
  if ((await published()).version !== v) await waitRun((await (await post(`/v1/models/${v}/rollback`)).json<any>()).status);
});

describe('model versions', () => {
  it('stores the bundled file as the published version, and every lead read and index row names it', async () => {
    const { published: p, versions } = await get('/v1/models');
    const file = versions.find((v: any) => v.version === p.version);
    expect(file).toMatchObject({ status: 'published', source: 'file', fingerprint: activeModel().fingerprint, modelId: 'b2b-default', createdBy: 'deploy' });
    expect(versions.filter((v: any) => v.status === 'published')).toHaveLength(1);
    const one = await get(`/v1/models/${p.version}`);
    // Stored resolved (`extends` applied): a release that changes the shipped model does not change the version.
    expect(one.model).toEqual(JSON.parse(JSON.stringify(resolveModel((await import('../../leadlevel.model.json')).default))));
    expect(one.model.extends).toBeUndefined();
    expect(one.publications[0]).toMatchObject({ version: p.version, by: 'deploy' });

    const user = uid('u');
    await serverBatch([msg(user, page('/pricing', Date.now()))]);
    expect((await (await readLead(user)).json<any>()).model).toEqual({ id: 'b2b-default', version: p.version });
    await drain(`u:${user}`);
    const row = await env.INDEX.prepare('SELECT model, model_version FROM leads WHERE key = ?').bind(`u:${user}`).first();
    expect(row).toEqual({ model: 'b2b-default', model_version: p.version });
    // The lead keeps its version itself; under the bundled file, without a copy of the file.
    expect(await ownVersion(`u:${user}`)).toEqual({ model_fingerprint: activeModel().fingerprint, model_seq: String(p.seq), model_version: String(p.version) });
  });

  it('refuses a draft with problems with their list, and stores nothing', async () => {
    const before = (await get('/v1/models')).versions.length;
    const cases: [unknown, string][] = [
      [{ extends: 'b2b-nothing' }, 'extends'],
      [{ ...DRAFT, scoringTypes: [{ ...B2B_ENGAGEMENT, windowDays: -3 }] }, 'scoringTypes[engagement].windowDays'],
      // The site's content and the teams' routes name these levels.
      [RENAMED, ''],
      ['not a model', '(file)'],
    ];
    for (const [model, path] of cases) {
      if (model === RENAMED) expect(draftProblems(RENAMED).some((p) => /hot/.test(p.reason)), JSON.stringify(draftProblems(RENAMED))).toBe(true);
      const res = await post('/v1/models', { model });
      expect(res.status, JSON.stringify(model).slice(0, 80)).toBe(400);
      const body = await res.json<any>();
      expect(body.error).toBe('invalid_model');
      expect(body.problems.length).toBeGreaterThan(0);
      expect(body.problems.some((p: any) => p.path.startsWith(path)), JSON.stringify(body.problems)).toBe(true);
    }
    for (const bad of [undefined, [], { model: DRAFT, extra: 1 }, { model: DRAFT, note: 5 }]) expect((await post('/v1/models', bad)).status).toBe(400);
    expect((await get('/v1/models')).versions.length).toBe(before);
    expect((await call('/v1/models/0', { headers: auth })).status).toBe(400);
    expect((await call('/v1/models/99999', { headers: auth })).status).toBe(404);
    expect((await post('/v1/models/99999/publish')).status).toBe(404);
    // A site key is a stranger's: no versions for it.
    expect((await call('/v1/models', { headers: { Authorization: 'Basic ' + btoa('pk_demo:'), Origin: 'http://localhost:5173' } })).status).toBe(403);
  });

  it('previews a draft: each lead scored again from its stored history equals a full recomputation, and the run tallies every lead', async () => {
    const now = Date.now();
    const leads = await someLeads(now);
    const version = await draft();
    const started = await post(`/v1/models/${version}/preview`);
    expect(started.status).toBe(202);
    const { status } = await started.json<any>();
    const done = await waitRun(status);
    expect(done.result.complete).toBe(true);
    expect(await get(`/v1/models/${version}/preview`)).toMatchObject({ id: done.id, status: 'complete' });

    const model = compileVersion(version, DRAFT);
    const current = activeModel();
    for (const l of leads) {
      const answer = await (leadObject(`u:${l.user}`) as unknown as LeadRpc).preview(version);
      const at = Date.now();
      const [now, under] = [score(current, asEvents(l.sent), at), score(model, asEvents(l.sent), at)];
      expect(answer).toEqual({
        from: now.types[0].level,
        to: under.types[0].level,
        converted: l.sent.some((e) => e.event === 'Deal Won' || e.event === 'Opportunity Created'),
        // Where the lead stood when it converted (else after its last event), as the conversion evidence counts it.
        fromAtConversion: current.types[0].tierIds[now.state.learn!.levelRank],
        toAtConversion: model.types[0].tierIds[under.state.learn!.levelRank],
      });
    }
    // The draft moves these leads: one other page is 40 points (Warm, and a surge of 40 in a week lifts one
    // level more), two are 80 (Engaged, and the surge).
    const mine = await Promise.all(leads.map((l) => (leadObject(`u:${l.user}`) as unknown as LeadRpc).preview(version)));
    expect(mine.map((m) => `${m!.from}>${m!.to}`).slice(0, 3)).toEqual(['cold>cold', 'cold>engaged', 'cold>hot']);

    // The run's matrix and conversion are every directory lead's answers, tallied once each.
    const moves = new Map<string, number>();
    let leadsSeen = 0;
    for (let shard = 0; shard < DIRECTORY_SHARDS; shard++) {
      for (const key of await directoryShard(env, shard).list('', 1000)) {
        const a = await (leadObject(key) as unknown as LeadRpc).preview(version);
        if (!a) continue;
        leadsSeen++;
        moves.set(`${a.from}>${a.to}`, (moves.get(`${a.from}>${a.to}`) ?? 0) + 1);
      }
    }
    expect(done.result.leads).toBe(leadsSeen);
    expect(done.progress).toMatchObject({ shards: DIRECTORY_SHARDS, shardsDone: DIRECTORY_SHARDS, leads: leadsSeen });
    expect(Object.fromEntries(done.result.moves.map((m: any) => [`${m.from}>${m.to}`, m.leads]))).toEqual(Object.fromEntries(moves));
    expect(done.result.affected).toBe([...moves].filter(([k]) => k.split('>')[0] !== k.split('>')[1]).reduce((n, [, c]) => n + c, 0));
    const conv = Object.fromEntries(done.result.conversion.map((c: any) => [c.level, c]));
    expect(conv.cold.now.leads).toBeGreaterThanOrEqual(3);
    for (const c of done.result.conversion) {
      expect(c.now.converted).toBeLessThanOrEqual(c.now.leads);
      if (c.now.leads) expect(c.now.rate).toBeCloseTo(c.now.converted / c.now.leads);
    }
    const converted = (side: 'now' | 'draft') => done.result.conversion.reduce((n: number, c: any) => n + c[side].converted, 0);
    expect(converted('now')).toBe(converted('draft'));
    expect(converted('now')).toBeGreaterThanOrEqual(2);
    // Nothing was written: the leads still answer under the published version.
    for (const l of leads) expect((await (await readLead(l.user)).json<any>()).model.version).toBe((await published()).version);
  }, 60_000);

  it('publishes: every lead is rescored under the new version while batches keep arriving, nothing lost or counted twice; a rollback goes back', async () => {
    const now = Date.now();
    const leads = await someLeads(now);
    const seed = (await published()).version;
    const version = await draft();
    const res = await post(`/v1/models/${version}/publish`, { by: 'ops@example.com', pageSize: 2 });
    expect(res.status).toBe(202);
    const started = await res.json<any>();
    expect(started.publication).toMatchObject({ version, by: 'ops@example.com' });

    // Ingest during the run: new events, the same events again (retries), and a lead that did not exist before.
    const fresh = { user: uid('u'), sent: [page('/blog/new', now - 1000)] };
    leads.push(fresh);
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        leads.map(async (l, i) => {
          const e = page(`/blog/r${round}-${i}`, Date.now() - 500);
          l.sent.push(e);
          const res = await serverBatch([msg(l.user, e), ...(l.sent.length > 1 ? [msg(l.user, l.sent[0])] : [])]);
          expect(res.status).toBe(200);
        }),
      );
    }
    const done = await waitRun(started.status);
    expect(done.progress).toMatchObject({ shardsDone: DIRECTORY_SHARDS, indexSwept: true });
    expect(done.progress.rescored + done.progress.current).toBe(done.progress.leads);
    expect((await get(`/v1/models/${version}`)).status).toBe('published');
    expect((await get(`/v1/models/${seed}`)).status).toBe('retired');

    const model = compileVersion(version, DRAFT);
    for (const l of leads) {
      await drain(`u:${l.user}`);
      const view = await (await readLead(l.user)).json<any>();
      const expected = score(model, asEvents(l.sent), Date.now()).types[0];
      expect(view.model, l.user).toEqual({ id: 'b2b-default', version });
      expect(view.events).toBe(l.sent.length);
      expect(view).toMatchObject({ level: expected.level, engagementScore: expected.engagementScore, leadScore: expected.leadScore });
      const row = await env.INDEX.prepare('SELECT model_version, level FROM leads WHERE key = ?').bind(`u:${l.user}`).first();
      expect(row).toEqual({ model_version: version, level: expected.level });
    }
    expect((await post(`/v1/models/${version}/publish`)).status).toBe(409);
    // The conversion evidence is the published version's, on the leads it scored (not the bundled file's).
    const evidence = await get('/v1/insights/conversion');
    expect(evidence.model).toEqual({ id: 'b2b-default', version });

    // Rollback: the seed version published again; the draft is retired, every lead back under the seed.
    const never = await draft();
    expect((await post(`/v1/models/${never}/rollback`)).status).toBe(409);
    const back = await post(`/v1/models/${seed}/rollback`, { by: 'ops@example.com' });
    expect(back.status).toBe(202);
    const rb = await back.json<any>();
    expect(rb.publication.seq).toBeGreaterThan(started.publication.seq);
    await waitRun(rb.status);
    expect(await published()).toEqual({ seq: rb.publication.seq, version: seed });
    const { versions } = await get('/v1/models');
    expect(versions.find((v: any) => v.version === version).status).toBe('retired');
    expect(versions.find((v: any) => v.version === never).status).toBe('draft');
    expect((await get(`/v1/models/${seed}`)).publications.map((p: any) => p.seq)).toContain(rb.publication.seq);
    for (const l of leads) {
      await drain(`u:${l.user}`);
      const view = await (await readLead(l.user)).json<any>();
      const expected = score(activeModel(), asEvents(l.sent), Date.now()).types[0];
      expect(view.model).toEqual({ id: 'b2b-default', version: seed });
      expect(view).toMatchObject({ level: expected.level, engagementScore: expected.engagementScore, leadScore: expected.leadScore });
    }
  }, 60_000);

  it('previews under the draft’s own holding settings: events the published model holds count when the draft holds nothing', async () => {
    const now = Date.now();
    const user = uid('u');
    const bot = { userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' };
    const sent = [page('/pricing', now - 3000), page('/docs/api', now - 2000), page('/compare/acme', now - 1000)];
    await serverBatch(sent.map((e) => ({ ...msg(user, e), context: bot })));
    await drain(`u:${user}`);
    expect(await (await readLead(user)).json<any>()).toMatchObject({ level: 'cold', engagementScore: 0, held: { events: 3 } });
    const open = { ...DRAFT, holding: { enabled: false } };
    const version = await draft(open);
    const answer = await (leadObject(`u:${user}`) as unknown as LeadRpc).preview(version);
    // Nothing held under the draft: the full recomputation of every event under it.
    const expected = score(compileVersion(version, open), asEvents(sent), Date.now()).types[0].level;
    expect(expected).not.toBe('cold');
    expect(answer).toMatchObject({ from: 'cold', to: expected });
    // And the draft with the published holding: the stored verdicts stand.
    const same = await draft();
    expect(await (leadObject(`u:${user}`) as unknown as LeadRpc).preview(same)).toMatchObject({ from: 'cold', to: 'cold' });
  });

  it('a publication whose run never started (the Workflow unreachable then) starts when it is published again, under the id derived from it', async () => {
    const user = uid('u');
    const sent = [page('/blog/z', Date.now() - 1000)];
    await serverBatch(sent.map((e) => msg(user, e)));
    await drain(`u:${user}`);
    const seed = await published();
    const version = await draft();
    const { publish, runIdOf } = await import('../../worker/models.js');
    // Committed, and then the Workflow could not be reached: no instance was created.
    const pub = await publish(env.INDEX, version, 'test');
    expect(pub.run).toBe(runIdOf(pub.seq));
    expect(await get(`/v1/models/${version}/publish`)).toMatchObject({ id: pub.run, status: 'unknown' });
    const again = await post(`/v1/models/${version}/publish`);
    expect(again.status).toBe(202);
    const started = await again.json<any>();
    expect(started).toMatchObject({ run: pub.run, restarted: true, publication: { seq: pub.seq } });
    const done = await waitRun(started.status);
    expect(done.progress).toMatchObject({ failed: 0, indexSwept: true });
    await drain(`u:${user}`);
    expect((await (await readLead(user)).json<any>()).model.version).toBe(version);
    // Started now: asking again is the usual conflict.
    expect((await post(`/v1/models/${version}/publish`)).status).toBe(409);
    await waitRun((await (await post(`/v1/models/${seed.version}/rollback`)).json<any>()).status);
  }, 60_000);

  it('a lead that keeps failing is retried with its page and reported; the run goes on and counts the others', async () => {
    const leads = await someLeads(Date.now());
    const bad = `u:${leads[0].user}`;
    // A stored body that no longer parses: this lead's every rescoring fails.
    const body = await runInDurableObject(leadObject(bad), (_, state) => {
      const row = state.storage.sql.exec<{ body: string }>('SELECT body FROM events ORDER BY rowid LIMIT 1').one();
      state.storage.sql.exec("UPDATE events SET body = '{' WHERE rowid = (SELECT MIN(rowid) FROM events)");
      return row.body;
    });
    try {
      const version = await draft();
      const { status } = await (await post(`/v1/models/${version}/preview`)).json<any>();
      const done = await waitRun(status);
      expect(done.progress).toMatchObject({ failed: 1, failedKeys: [bad] });
      const seen = await Promise.all(leads.slice(1).map((l) => (leadObject(`u:${l.user}`) as unknown as LeadRpc).preview(version)));
      expect(seen.every((a) => a !== null)).toBe(true);
      expect(done.result.leads).toBeGreaterThanOrEqual(leads.length - 1);
      // Its rescoring fails as a whole: the lead keeps its version, so the page's next attempt tries it again.
      const stub = leadObject(bad) as unknown as LeadRpc;
      const own = () => runInDurableObject(leadObject(bad), (_, state) => state.storage.sql.exec("SELECT k, v FROM meta WHERE k IN ('model_version', 'model_seq', 'state') ORDER BY k").toArray());
      const before = await own();
      for (let i = 0; i < 2; i++) expect(await stub.rescore({ seq: 1_000_000, version }).then(String, () => 'failed')).toBe('failed');
      expect(await own()).toEqual(before);
      // And it is marked for its alarm to try the move again, not left behind until its next batch.
      const marked = await runInDurableObject(leadObject(bad), (_, state) => ({
        target: state.storage.sql.exec("SELECT v FROM meta WHERE k = 'model_target'").toArray().map((r) => JSON.parse(r.v as string)),
        timer: state.storage.sql.exec("SELECT kind FROM timers WHERE kind = 'migrate'").toArray().length,
      }));
      expect(marked).toEqual({ target: [{ seq: 1_000_000, version }], timer: 1 });
    } finally {
      await runInDurableObject(leadObject(bad), (_, state) => {
        state.storage.sql.exec('UPDATE events SET body = ? WHERE rowid = (SELECT MIN(rowid) FROM events)', body);
        // The made-up publication above is no real one: the lead is not to follow it.
        state.storage.sql.exec("DELETE FROM meta WHERE k = 'model_target'");
        state.storage.sql.exec("DELETE FROM timers WHERE kind = 'migrate'");
      });
    }
  }, 60_000);

  it('a lead told of a newer publication by a batch moves in its alarm, not on the batch, and never back to an older one', async () => {
    const user = uid('u');
    const key = `u:${user}`;
    const sent = [page('/blog/x', Date.now() - 1000)];
    await serverBatch(sent.map((e) => msg(user, e)));
    await drain(key);
    const seed = await published();
    const version = await draft();
    // Published without its run reaching this lead: only the batch tells it.
    const { publish } = await import('../../worker/models.js');
    const pub = await publish(env.INDEX, version, 'test');
    const e = page('/blog/y', Date.now() - 500);
    sent.push(e);
    const stub = leadObject(key) as unknown as LeadRpc;
    await stub.ingest({ key, events: asEvents([e]), aliases: [], receivedAt: Date.now(), source: 'secret', model: { seq: pub.seq, version } });
    // The batch was scored under the lead's own version; the move is due in its alarm.
    expect((await stub.view())!.model.version).toBe(seed.version);
    // An older publication (a Worker whose cache lags) changes nothing.
    await stub.ingest({ key, events: [], aliases: [], receivedAt: Date.now(), source: 'secret', model: seed });
    await drain(key);
    const view = (await stub.view())!;
    expect(view.model.version).toBe(version);
    expect(view.engagementScore).toBe(score(compileVersion(version, DRAFT), asEvents(sent), Date.now()).types[0].engagementScore);
    // Under a draft, its resolved body is kept with the lead (no D1 read to load it); a restart reads it back.
    expect(JSON.parse((await ownVersion(key)).model_body!)).toEqual(JSON.parse(JSON.stringify(resolveModel(DRAFT))));
    await restart(key);
    expect((await (leadObject(key) as unknown as LeadRpc).view())!.model.version).toBe(version);
    expect(await (leadObject(key) as unknown as LeadRpc).rescore({ seq: pub.seq, version })).toBe('current');
    // Back to the file's version for the files after this one.
    const { publish: again } = await import('../../worker/models.js');
    await again(env.INDEX, seed.version, 'test');
  });

  it('a version that no longer fits the deployment (levels changed since it was stored) is refused on publish and on rollback', async () => {
    const seed = await published();
    // A draft stored before a deploy changed the levels: here the three-tier preset's, written as the route would have.
    const { storedBody } = await import('../../worker/models.js');
    const body = storedBody({ extends: 'b2b-three-tier' });
    const row = await env.INDEX.prepare(
      `INSERT INTO models (version, model_id, fingerprint, body, status, source, created_at, created_by)
       SELECT MAX(version) + 1, 'b2b-three-tier', 'stale-draft', ?1, 'draft', 'api', ?2, 'ops@example.com' FROM models RETURNING version`,
    ).bind(body, Date.now()).first<{ version: number }>();
    const res = await post(`/v1/models/${row!.version}/publish`);
    expect(res.status).toBe(409);
    const b = await res.json<any>();
    expect(b.error).toBe('model_no_longer_valid');
    // The site file names levels (engaged, very_hot) the three-tier model does not have.
    expect(b.problems.map((p: any) => p.path)).toContain('content.hero-cta.engaged');
    expect(await published()).toEqual(seed);
    expect((await get(`/v1/models/${row!.version}`)).status).toBe('draft');
    await env.INDEX.prepare("UPDATE models SET status = 'retired' WHERE version = ?1").bind(row!.version).run();
    expect((await post(`/v1/models/${row!.version}/rollback`)).status).toBe(409);
    expect(await published()).toEqual(seed);
  });

  it('two requests publishing one draft at once make one publication: the second is refused in the transaction itself', async () => {
    const { publish, AlreadyPublished } = await import('../../worker/models.js');
    const seed = await published();
    const mine = await draft();
    // Both got past the route's check (the draft was a draft for each); the transactions then run one after the other.
    const first = await publish(env.INDEX, mine, 'ops@example.com');
    await expect(publish(env.INDEX, mine, 'ops@example.com')).rejects.toBeInstanceOf(AlreadyPublished);
    const { results } = await env.INDEX.prepare('SELECT seq, run FROM model_publications WHERE version = ?1').bind(mine).all();
    expect(results).toEqual([{ seq: first.seq, run: `publish-${first.seq}` }]);
    expect((await env.INDEX.prepare('SELECT COUNT(*) AS n FROM model_runs WHERE version = ?1').bind(mine).first())!.n).toBe(1);
    expect(await published()).toEqual({ seq: first.seq, version: mine });
    await publish(env.INDEX, seed.version, 'test');
  });

  it('a deploy with a changed file does not replace a version the operator published: the file waits as a draft', async () => {
    const { publish, seedFile } = await import('../../worker/models.js');
    const seed = await published();
    const mine = await draft();
    await publish(env.INDEX, mine, 'ops@example.com');
    // The next deploy bundles another file (here the three-tier preset): stored, not published.
    const body = { extends: 'b2b-three-tier' };
    const other = compileModel(resolveModel(body));
    await seedFile(env, Date.now(), other, body);
    const { versions, published: now } = await get('/v1/models');
    expect(now.version).toBe(mine);
    const stored = versions.find((v: any) => v.source === 'file' && v.fingerprint === other.fingerprint);
    expect(stored).toMatchObject({ status: 'draft', createdBy: 'deploy', note: expect.stringMatching(/publish it to follow the file/) });
    expect((await get(`/v1/models/${stored.version}`)).publications).toEqual([]);
    await publish(env.INDEX, seed.version, 'test');
  });
});

/**
 * The personalization holdout (worker/experience.ts): a stable share of visitors sees the default content, the
 * edge records what each page showed, and the insights compare the conversion of both groups.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { heldOut } from '../../shared/holdout.js';
import { holdoutShare } from '../../worker/experience.js';
import { HOLDOUT_MINIMUM } from '../../worker/holdout-insights.js';
import app from '../../worker/index.js';
import { writeIndex, type IndexRow } from '../../worker/lead-index.js';
import { contentFor, validateSite } from '../../worker/site.js';
import { BASE, DAY, LOCAL_PAGE, SECRET, browserBatch, call, drain, env, readLead, uid } from './helpers.js';

/** The Worker with a holdout share set for this environment (PERSONALIZATION_HOLDOUT). */
const withHoldout = { ...env, PERSONALIZATION_HOLDOUT: '0.5' };
const fetchWith = async (req: Request) => {
  const ctx = createExecutionContext();
  const res = await app.fetch(req, withHoldout, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { res, text };
};

/** A visitor id in the group asked for, at a share of one half. */
async function visitor(held: boolean): Promise<string> {
  for (;;) {
    const aid = uid('hv');
    if ((await heldOut(aid, 0.5)) === held) return aid;
  }
}

/** A hot visitor (three minutes on pricing), made with the site key as a browser does. */
async function hot(aid: string) {
  const res = await browserBatch([
    { type: 'page', anonymousId: aid, properties: { path: '/pricing' } },
    { type: 'track', anonymousId: aid, event: 'Page Engaged', properties: { path: '/pricing', seconds: 185 } },
  ]);
  expect((await res.json<any>()).lead.level).toBe('hot');
}

const events = async (id: string) => (await (await call(`/v1/leads/${id}/events?limit=100`, { headers: { Authorization: SECRET } })).json<any>()).events;

describe('who is held out', () => {
  it('by a stable hash of the visitor id: the same visitor always, and the configured share of all visitors', async () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `visitor-${i}`);
    const first = await Promise.all(ids.map((id) => heldOut(id, 0.1)));
    const again = await Promise.all(ids.map((id) => heldOut(id, 0.1)));
    expect(again).toEqual(first);
    const share = first.filter(Boolean).length / ids.length;
    // 20,000 draws at 10 %: the standard error is 0.2 %, so ±1 % is five of them.
    expect(share).toBeGreaterThan(0.09);
    expect(share).toBeLessThan(0.11);
    expect((await Promise.all(ids.slice(0, 500).map((id) => heldOut(id, 0)))).some(Boolean)).toBe(false);
    // A larger share keeps everyone a smaller one held out (the groups nest as an experiment grows).
    const wider = await Promise.all(ids.map((id) => heldOut(id, 0.2)));
    expect(first.every((h, i) => !h || wider[i])).toBe(true);
  });

  it('the share comes from the site file, or PERSONALIZATION_HOLDOUT for an environment; a bad value is refused or ignored', () => {
    expect(holdoutShare({}, 0.1)).toBe(0.1);
    expect(holdoutShare({ PERSONALIZATION_HOLDOUT: '0.25' }, 0.1)).toBe(0.25);
    expect(holdoutShare({ PERSONALIZATION_HOLDOUT: 'off' }, 0.1)).toBe(0);
    expect(holdoutShare({ PERSONALIZATION_HOLDOUT: 'lots' }, 0.1)).toBe(0.1);
    expect(holdoutShare({ PERSONALIZATION_HOLDOUT: '0.9' }, 0.1)).toBe(0.1);
    const site = { origin: null, content: {}, treatments: {} };
    expect(validateSite({ ...site, holdout: 0.1 })).toEqual([]);
    for (const bad of [0.6, -0.1, '0.1', null]) {
      const problems = validateSite({ ...site, holdout: bad });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ path: 'holdout' });
      expect(problems[0].reason).toMatch(/share of visitors from 0 to 0.5/);
    }
  });
});

describe('what a held-out visitor sees', () => {
  it('the edge serves a held-out hot visitor the default content and records what each page showed; a personalized one gets the hot content', async () => {
    const [out, inn] = [await visitor(true), await visitor(false)];
    await hot(out);
    await hot(inn);
    const page = (aid: string) => fetchWith(new Request(`${BASE}/`, { headers: { Cookie: `ll_aid=${aid}` } }));

    const held = await page(out);
    expect(held.text).toMatch(/<html[^>]* data-ll-level="cold"/);
    expect(held.text).toContain(`data-ll-slot="hero-cta">${contentFor('cold')['hero-cta']}</div>`);
    const shown = await page(inn);
    expect(shown.text).toMatch(/<html[^>]* data-ll-level="hot"/);
    expect(shown.text).toContain(`data-ll-slot="hero-cta">${contentFor('hot')['hero-cta']}</div>`);

    const viewed = async (aid: string) => (await events(aid)).filter((e: any) => e.event === 'Experience Viewed');
    expect((await viewed(out)).map((e: any) => e.properties)).toEqual([{ slot: 'hero-cta', variant: 'cold', holdout: true, level: 'hot', path: '/' }]);
    expect((await viewed(inn)).map((e: any) => e.properties)).toEqual([{ slot: 'hero-cta', variant: 'hot', holdout: false, level: 'hot', path: '/' }]);
    // The record scores nothing: the lead is as hot as before, its score unchanged.
    for (const aid of [out, inn]) {
      const lead = await (await readLead(aid)).json<any>();
      expect(lead.level).toBe('hot');
      expect((await viewed(aid))[0].points ?? 0).toBe(0);
    }
    // A page without slots records nothing.
    await page(inn).then(() => fetchWith(new Request(`${BASE}/pricing`, { headers: { Cookie: `ll_aid=${inn}` } })));
    expect(await viewed(inn)).toHaveLength(2);
  });

  it('the batch answer and /v1/level say what to show: the default for a held-out visitor, with the real level kept', async () => {
    const out = await visitor(true);
    const inn = await visitor(false);
    const send = (aid: string) =>
      fetchWith(
        new Request(`${BASE}/v1/batch`, {
          method: 'POST',
          headers: { Origin: LOCAL_PAGE, 'Content-Type': 'text/plain', 'CF-Connecting-IP': '10.250.0.1' },
          body: JSON.stringify({ writeKey: 'pk_demo', batch: [{ type: 'page', anonymousId: aid, properties: { path: '/pricing' } }, { type: 'track', anonymousId: aid, event: 'Page Engaged', properties: { path: '/pricing', seconds: 185 } }] }),
        }),
      );
    const a = JSON.parse((await send(out)).text);
    expect(a).toMatchObject({ lead: { level: 'hot' }, show: 'cold', holdout: true, content: contentFor('cold') });
    const b = JSON.parse((await send(inn)).text);
    expect(b).toMatchObject({ lead: { level: 'hot' }, show: 'hot', content: contentFor('hot') });
    expect(b.holdout).toBeUndefined();
    const level = (aid: string) => fetchWith(new Request(`${BASE}/v1/level?anonymousId=${aid}&writeKey=pk_demo`, { headers: { Origin: LOCAL_PAGE } }));
    expect(JSON.parse((await level(out)).text)).toMatchObject({ level: 'hot', show: 'cold', holdout: true, content: contentFor('cold') });
    expect(JSON.parse((await level(inn)).text)).toMatchObject({ level: 'hot', show: 'hot', content: contentFor('hot') });
    // Without a holdout (the shipped site file has none) everybody is shown their level.
    const plain = await (await browserBatch([{ type: 'page', anonymousId: out, properties: { path: '/' } }])).json<any>();
    expect(plain).toMatchObject({ show: 'hot', content: contentFor('hot') });
  });

  it('attack: a site key cannot record an experience (its group, or having seen anything) for itself', async () => {
    const aid = uid('hv');
    const res = await browserBatch([{ type: 'track', anonymousId: aid, event: 'Experience Viewed', properties: { slot: 'hero-cta', variant: 'hot', holdout: false } }]);
    expect(res.status).toBe(403);
    expect(JSON.stringify(await res.json())).toMatch(/server-side event/);
    expect((await readLead(aid)).status).toBe(404);
  });
});

describe('personalized against the holdout', () => {
  // In 2002, where no other test's leads live, written by the index's own writer as each lead's outbox writes it.
  const T = Date.UTC(2002, 4, 1);
  async function lead(holdout: boolean, exposedDay: number, convertedDay?: number) {
    const key = `u:${uid('ho')}`;
    const row: IndexRow = {
      key, id: key.slice(2), email: null, userId: key.slice(2), level: 'warm', levelRank: 1, levelSince: T, engagementScore: 10, leadScore: 0, momentum: 0, stage: null,
      fitGrade: null, fitScore: null, doNotContact: false, lastActivityAt: null, model: 'b2b-default', modelVersion: 1, updatedAt: T, teams: [], slaTeam: null, slaState: null,
      slaDueAt: null, firstSeenAt: T, source: 'direct', medium: 'none', campaign: null, referrer: null,
      convertedAt: convertedDay === undefined ? null : T + convertedDay * DAY, opportunityAt: null, exposedAt: T + exposedDay * DAY, holdout,
    };
    await writeIndex(env.INDEX, 1, { upsert: row });
  }
  const get = (q: string) => call(`/v1/insights/personalization?${q}`, { headers: { Authorization: SECRET } });
  const WINDOW = 'from=2002-05-01&to=2002-06-30';

  it('below the stated minimum the answer is "not enough data", not a lift', async () => {
    for (let i = 0; i < 3; i++) await lead(true, 1, 2);
    const b = await (await get(WINDOW)).json<any>();
    expect(b).toMatchObject({ enough: false, lift: null, minimum: HOLDOUT_MINIMUM });
    expect(b.why).toMatch(/not enough data: 0 personalized and 3 held-out leads were exposed; each group needs 100/);
  });

  it('the conversion of each group after its first exposure, and the lift with its interval', async () => {
    // Personalized: 200 exposed, 40 converted after; holdout: 100 exposed (the 3 above, converted, and 97 here: 9
    // converted after, 4 before they were shown anything — not counted — and 1 after the window's end).
    for (let i = 0; i < 200; i++) await lead(false, 2, i < 40 ? 10 : undefined);
    for (let i = 0; i < 97; i++) await lead(true, 2, i < 9 ? 12 : i < 13 ? 1 : i === 13 ? 90 : undefined);
    const res = await get(WINDOW);
    expect(res.status).toBe(200);
    const b = await res.json<any>();
    expect(b.personalized).toEqual({ leads: 200, converted: 40, rate: 0.2 });
    expect(b.holdout).toMatchObject({ leads: 100, converted: 12 });
    expect(b.enough).toBe(true);
    expect(b.why).toBeNull();
    // (40/200) / (12/100) = 1.667; Katz: se = √(1/40 − 1/200 + 1/12 − 1/100) = 0.3055.
    const se = Math.sqrt(1 / 40 - 1 / 200 + 1 / 12 - 1 / 100);
    expect(b.lift.lift).toBeCloseTo(5 / 3, 4);
    expect(b.lift.interval[0]).toBeCloseTo((5 / 3) * Math.exp(-1.96 * se), 2);
    expect(b.lift.interval[1]).toBeCloseTo((5 / 3) * Math.exp(1.96 * se), 2);
    expect(b.lift.interval[0]).toBeGreaterThan(0.9);
    // A window ending before the conversions counts none of them.
    const early = await (await get('from=2002-05-01&to=2002-05-05')).json<any>();
    expect(early.personalized).toMatchObject({ leads: 200, converted: 0 });
  });

  it('a lead the edge exposed reaches the index with its group', async () => {
    const aid = await visitor(true);
    await hot(aid);
    await fetchWith(new Request(`${BASE}/`, { headers: { Cookie: `ll_aid=${aid}` } }));
    await drain(`a:${aid}`);
    const row = await env.INDEX.prepare('SELECT exposed_at, holdout FROM leads WHERE key = ?').bind(`a:${aid}`).first<any>();
    expect(row.holdout).toBe(1);
    expect(row.exposed_at).toBeGreaterThan(Date.now() - DAY);
  });

  it('bad parameters are named; a site key may not read it', async () => {
    const bad = await get('from=yesterday');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/from/);
    expect((await get('by=source')).status).toBe(400);
    const site = await call('/v1/insights/personalization?writeKey=pk_demo', { headers: { Origin: LOCAL_PAGE } });
    expect(site.status).toBe(403);
  });
});

/**
 * Machines are not people: a mail scanner's clicks and opens and a crawler's page views are stored, earn
 * nothing and move nothing, and the timing-held ones count — once, at their own times — when the lead then
 * shows a person's behaviour, also after the object restarted.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { LeadEvent } from '../../shared/events.js';
import { holdsOf } from '../../shared/holding.js';
import { activeModel } from '../../worker/model.js';
import { LOCAL_PAGE, call, drain, iso, leadObject, readLead, restart, serverBatch, uid } from './helpers.js';
import { eventsOf, mail, now, postSendgrid } from './sendgrid.js';

const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const BARRACUDA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.93 Safari/537.36 Barracuda Sentinel (EE)';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

const lead = async (id: string) => (await readLead(id)).json<any>();
const byEvent = (events: any[], name: string) => events.filter((e) => e.event === name);

/** A browser batch from a page, with the browser's own User-Agent header. */
const pageViews = (anonymousId: string, paths: string[], userAgent: string) =>
  call('/v1/batch', {
    method: 'POST',
    headers: { Origin: LOCAL_PAGE, 'Content-Type': 'text/plain', 'User-Agent': userAgent },
    body: JSON.stringify({ writeKey: 'pk_demo', batch: paths.map((path) => ({ type: 'page', anonymousId, messageId: uid('m'), properties: { path } })) }),
  });

/** Email clicks sent from a server (an ESP integration), `offsets` ms after t0, each a different link. */
const clicks = (userId: string, t0: number, offsets: number[], extra: Record<string, unknown> = {}) =>
  offsets.map((d, i) => ({
    type: 'track',
    userId,
    messageId: uid('click'),
    event: 'Email Link Clicked',
    timestamp: iso(t0 + d),
    properties: { url: `https://example.com/post-${i}`, providerMessageId: 'msg-1', ...extra },
    context: { userAgent: CHROME },
  }));
const page = (userId: string, at: number, path = '/') => ({ type: 'page', userId, messageId: uid('page'), timestamp: iso(at), properties: { path }, context: { userAgent: CHROME } });

describe('holding machines', () => {
  it('three clicks from a Barracuda scanner within a second leave the score untouched', async () => {
    const email = mail();
    const t = now() - 120;
    const res = await postSendgrid(
      [0, 0, 1].map((d, i) => ({ email, timestamp: t + d, event: 'click', url: `https://example.com/link-${i}`, sg_message_id: 'sg-1', useragent: BARRACUDA, sg_event_id: uid() })),
    );
    expect(await res.json()).toMatchObject({ accepted: 3 });
    expect(await lead(email)).toMatchObject({ level: 'cold', engagementScore: 0, leadScore: 0, held: { events: 3, permanent: 3, bySignal: { crawler: 3 } } });
    const listed = byEvent(await eventsOf(email), 'Email Link Clicked');
    expect(listed).toHaveLength(3);
    for (const e of listed) expect(e).toMatchObject({ points: 0, reasons: [], held: { signal: 'crawler', permanent: true, releasedAt: null, reason: expect.stringContaining('Barracuda') } });
  });

  it('Googlebot viewing three pages leaves the lead cold, and a person later does not make them count', async () => {
    const bot = uid('a');
    expect((await pageViews(bot, ['/pricing', '/docs/api', '/compare/acme'], GOOGLEBOT)).status).toBe(200);
    expect(await lead(bot)).toMatchObject({ level: 'cold', engagementScore: 0, held: { events: 3, permanent: 3, bySignal: { crawler: 3 } } });
    const listed = await eventsOf(bot);
    expect(listed.map((e) => e.held?.reason)).toEqual(Array(3).fill('a known crawler or scanner: its user agent names "Google"'));

    // The same walk by a person's browser is hot (3 high-intent pages in one session).
    const person = uid('a');
    await pageViews(person, ['/pricing', '/docs/api', '/compare/acme'], CHROME);
    expect(await lead(person)).toMatchObject({ level: 'hot', engagementScore: 12 });
    expect((await lead(person)).held).toBeUndefined();

    // A person's page view on the crawler's visitor scores itself only: the crawler's views stay held, and do not
    // even make a session of several pages with it (that would be warm).
    await pageViews(bot, ['/'], CHROME);
    expect(await lead(bot)).toMatchObject({ level: 'cold', engagementScore: 2, held: { events: 3, released: 0 } });
  });

  it('a scanner burst is held, and a real page view releases the clicks exactly once, also across restarts', async () => {
    const u = uid('u');
    const t0 = Date.now() - 10 * 60_000;
    const burst = clicks(u, t0, [0, 300, 700]);
    expect(await (await serverBatch(burst)).json()).toMatchObject({ accepted: 3, lead: { level: 'cold', engagementScore: 0 } });
    expect(await lead(u)).toMatchObject({ level: 'cold', engagementScore: 0, held: { events: 3, permanent: 0, released: 0, bySignal: { burst: 3 } } });
    for (const e of await eventsOf(u)) expect(e).toMatchObject({ points: 0, held: { reason: 'likely a scanner: clicked 3 links within 1 s', releasedAt: null } });

    // Held across an eviction: nothing about the hold lives only in memory.
    await drain(`u:${u}`);
    await restart(`u:${u}`);
    expect(await lead(u)).toMatchObject({ engagementScore: 0, held: { events: 3 } });

    const view = page(u, t0 + 5 * 60_000);
    const answer = await (await serverBatch([view])).json<any>();
    // Three clicks (+5 each, the click floor lifts to warm) and the homepage (+2), scored at their own times.
    expect(answer).toMatchObject({ accepted: 1, lead: { level: 'warm', engagementScore: 17, leadScore: 17 } });
    expect(await lead(u)).toMatchObject({ engagementScore: 17, held: { events: 0, released: 3 } });
    const listed = byEvent(await eventsOf(u), 'Email Link Clicked');
    for (const e of listed) expect(e).toMatchObject({ points: 5, held: { signal: 'burst', releasedAt: expect.any(String) } });
    expect(listed.map((e) => e.timestamp).sort()).toEqual(burst.map((c) => c.timestamp).sort());

    // Retries of both batches, another page view, a restart: the clicks still count once.
    expect(await (await serverBatch([view])).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await (await serverBatch(burst)).json()).toMatchObject({ accepted: 0, duplicates: 3 });
    await serverBatch([page(u, t0 + 6 * 60_000, '/blog')]);
    await drain(`u:${u}`);
    await restart(`u:${u}`);
    expect(await lead(u)).toMatchObject({ engagementScore: 18, leadScore: 18, held: { events: 0, released: 3 } });
  });

  it('a burst recognised after its first click was scored takes that click back', async () => {
    const u = uid('u');
    const t0 = Date.now() - 10 * 60_000;
    const [first, ...rest] = clicks(u, t0, [0, 400, 800]);
    expect(await (await serverBatch([first])).json()).toMatchObject({ lead: { level: 'warm', engagementScore: 5 } });
    expect(await (await serverBatch(rest)).json()).toMatchObject({ accepted: 2, lead: { level: 'cold', engagementScore: 0 } });
    const read = await lead(u);
    expect(read).toMatchObject({ level: 'cold', engagementScore: 0, leadScore: 0, held: { events: 3, bySignal: { burst: 3 } } });
    expect(read.history.filter((h: any) => h.to === 'warm')).toEqual([]);
  });

  it('a click on the honeypot link is held for good', async () => {
    const u = uid('u');
    const t0 = Date.now() - 10 * 60_000;
    const [trap] = clicks(u, t0, [0], { url: 'https://example.com/ll-trap?c=spring' });
    await serverBatch([trap]);
    expect(await lead(u)).toMatchObject({ level: 'cold', engagementScore: 0, held: { events: 1, permanent: 1, bySignal: { honeypot: 1 } } });
    // A person on the site later: the page view counts, the honeypot click never does.
    await serverBatch([page(u, t0 + 60_000)]);
    expect(await lead(u)).toMatchObject({ engagementScore: 2, held: { events: 1, released: 0 } });
    const [click] = byEvent(await eventsOf(u), 'Email Link Clicked');
    expect(click).toMatchObject({ points: 0, held: { signal: 'honeypot', permanent: true, releasedAt: null } });
  });

  it('a SendGrid open 2 s after delivery is held; one 5 minutes after counts; a delivery arriving late still holds', async () => {
    const email = mail();
    const t = now() - 1_000;
    const ev = (event: string, at: number, message: string) => ({ email, timestamp: at, event, sg_message_id: message, useragent: CHROME, sg_event_id: uid() });
    expect(await (await postSendgrid([ev('delivered', t, 'a'), ev('open', t + 2, 'a')])).json()).toMatchObject({ accepted: 2 });
    expect(await lead(email)).toMatchObject({ engagementScore: 0, held: { events: 1, bySignal: { delivery: 1 } } });
    await postSendgrid([ev('delivered', t + 10, 'b'), ev('open', t + 310, 'b')]);
    expect(await lead(email)).toMatchObject({ engagementScore: 1, held: { events: 1 } });
    const opens = byEvent(await eventsOf(email), 'Email Opened');
    expect(opens.map((e) => [e.points, e.held?.reason ?? null])).toEqual([
      [1, null],
      [0, 'likely a scanner: opened 2 s after delivery'],
    ]);

    // SendGrid batches: an open can arrive before its message's delivery. Counted first, held once the delivery shows.
    await postSendgrid([ev('open', t + 403, 'c')]);
    expect(await lead(email)).toMatchObject({ engagementScore: 2 });
    await postSendgrid([ev('delivered', t + 400, 'c')]);
    expect(await lead(email)).toMatchObject({ engagementScore: 1, held: { events: 2, bySignal: { delivery: 2 } } });
  });

  it('a held click after the batch’s page view is released by a page view stored before: the verdicts equal the whole-history rule', async () => {
    const u = uid('u');
    const t = Date.now() - 10 * 60_000;
    const track = (event: string, at: number) => ({ type: 'track', userId: u, messageId: uid('m'), event, timestamp: iso(at), properties: { providerMessageId: 'msg-9', url: 'https://example.com/a' }, context: { userAgent: CHROME } });
    // Stored first: a page view at t+300.
    const stored = page(u, t + 300);
    await serverBatch([stored]);
    // One batch: the message's delivery at t, an open at t+50 (held), a page view at t+100, a click at t+200 (held).
    const batch = [track('Email Delivered', t), track('Email Opened', t + 50), page(u, t + 100), track('Email Link Clicked', t + 200)];
    await serverBatch(batch);
    const listed = await eventsOf(u);
    const verdicts = Object.fromEntries(listed.filter((e) => e.held).map((e) => [e.event, e.held.releasedAt !== null]));
    expect(verdicts).toEqual({ 'Email Opened': true, 'Email Link Clicked': true });
    expect(byEvent(listed, 'Email Link Clicked')[0].points).toBeGreaterThan(0);
    // The whole-history rule over the same events.
    const all = [stored, ...batch].map((e) => ({ ...e, timestamp: Date.parse(e.timestamp), agent: CHROME }) as unknown as LeadEvent);
    const rule = holdsOf(activeModel().holding, all);
    expect(Object.fromEntries([...rule].map(([id, h]) => [all.find((e) => e.messageId === id)!.event, h.released]))).toEqual(verdicts);
  });

  it('a new model judges the stored holds again: clicks an older model held count once its holding settings no longer hold them', async () => {
    const u = uid('u');
    const t0 = Date.now() - 30 * 60_000;
    // Two clicks minutes apart, no delivery: the deployed model holds neither.
    await serverBatch(clicks(u, t0, [0, 5 * 60_000]));
    await drain(`u:${u}`);
    const counted = await lead(u);
    expect(counted.engagementScore).toBeGreaterThan(0);
    expect(counted.held).toBeUndefined();
    // As an older model (a longer afterDeliverySeconds, say) left them: held, not released; and the lead scored under it.
    await runInDurableObject(leadObject(`u:${u}`), (_, state) => {
      state.storage.sql.exec(`UPDATE events SET held = ?, released_at = NULL WHERE body LIKE '%Email Link Clicked%'`, JSON.stringify({ signal: 'delivery', reason: 'likely a scanner: clicked 30 s after delivery', permanent: false }));
      state.storage.sql.exec(`UPDATE meta SET v = json_set(v, '$.fingerprint', 'an older model') WHERE k = 'state'`);
    });
    await restart(`u:${u}`);
    await runDurableObjectAlarm(leadObject(`u:${u}`)); // the migration
    const after = await lead(u);
    expect(after.rescorePending).toBeUndefined();
    expect(after).toMatchObject({ engagementScore: counted.engagementScore, leadScore: counted.leadScore });
    expect(after.held).toBeUndefined();
    for (const e of byEvent(await eventsOf(u), 'Email Link Clicked')) expect(e.held).toBeUndefined();
  });
});

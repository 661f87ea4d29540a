/**
 * The level history and attribution in the D1 index (migrations/0010_insights.sql): written through the lead's
 * outbox with its row, rebuilt by a reindex, gone with an erasure.
 */
import { describe, expect, it } from 'vitest';
import { DAY, SECRET, call, drain, env, iso, leadObject, serverBatch, uid } from './helpers.js';

const history = (key: string) =>
  env.INDEX.prepare('SELECT at, until, from_level, to_level, to_rank, next_rank, reason FROM level_changes WHERE lead_key = ? ORDER BY at, to_rank').bind(key).all<any>().then((r) => r.results);
const row = (key: string) => env.INDEX.prepare('SELECT first_seen_at, source, medium, campaign, referrer, converted_at, opportunity_at FROM leads WHERE key = ?').bind(key).first<any>();

describe('level history and attribution in the index', () => {
  it('keeps every level change with its end, the first touch and the first conversion; a reindex rebuilds them; an erasure removes them', async () => {
    const user = uid('u');
    const key = `u:${user}`;
    const t0 = Date.now() - 20 * DAY;
    const m = () => uid('m');
    await serverBatch([
      // Sent out of order: the earliest page view is the first touch whichever arrives first.
      { type: 'page', userId: user, messageId: m(), timestamp: iso(t0 + DAY), properties: { path: '/blog', url: 'https://site.example/blog', referrer: 'https://news.example.org/x' } },
      { type: 'page', userId: user, messageId: m(), timestamp: iso(t0), properties: { path: '/', url: 'https://site.example/?utm_source=Google', referrer: 'https://www.google.com/' }, context: { campaign: { source: 'Google', medium: 'cpc', name: 'spring-launch' } } },
      { type: 'track', userId: user, messageId: m(), timestamp: iso(t0 + 10 * DAY), event: 'Form Submitted', properties: { kind: 'demo_request', form: 'demo' } },
      { type: 'track', userId: user, messageId: m(), timestamp: iso(t0 + 12 * DAY), event: 'Opportunity Created' },
      { type: 'track', userId: user, messageId: m(), timestamp: iso(t0 + 11 * DAY), event: 'Deal Won' },
    ]);
    await drain(key);
    expect(await row(key)).toEqual({ first_seen_at: t0, source: 'google', medium: 'cpc', campaign: 'spring-launch', referrer: 'www.google.com', converted_at: t0 + 11 * DAY, opportunity_at: t0 + 12 * DAY });

    const h = await history(key);
    expect(h[0]).toMatchObject({ at: t0, from_level: '', to_level: 'cold', to_rank: 0, reason: 'start' });
    // The demo request lifts the lead to very_hot at once (a floor), then the ladder takes it down, a tier at a time.
    const demo = h.find((c: any) => c.at === t0 + 10 * DAY);
    expect(demo).toMatchObject({ to_level: 'very_hot', to_rank: 4, reason: 'floor' });
    for (let i = 0; i < h.length - 1; i++) {
      expect(h[i].until).toBe(h[i + 1].at);
      expect(h[i].next_rank).toBe(h[i + 1].to_rank);
    }
    expect(h[h.length - 1]).toMatchObject({ until: null, next_rank: null });
    expect(h.slice(h.indexOf(demo) + 1).map((c: any) => [c.to_level, c.reason])).toEqual([
      ['hot', 'ladder'],
      ['engaged', 'ladder'],
    ]);

    // Lost from the index, rebuilt from the object.
    await env.INDEX.batch([env.INDEX.prepare('DELETE FROM level_changes WHERE lead_key = ?').bind(key), env.INDEX.prepare('DELETE FROM leads WHERE key = ?').bind(key)]);
    expect(await leadObject(key).reindex(key)).toBe('indexed');
    expect(await history(key)).toEqual(h);
    expect((await row(key))?.source).toBe('google');

    const res = await call(`/v1/leads/${encodeURIComponent(user)}`, { method: 'DELETE', headers: { Authorization: SECRET } });
    expect(res.status).toBe(200);
    expect(await history(key)).toEqual([]);
    expect(await row(key)).toBeNull();
  });

  it('a lead with no page view is direct; a referrer from another site is the source of one with no UTM tags', async () => {
    const a = uid('u');
    const b = uid('u');
    await serverBatch([
      { type: 'track', userId: a, messageId: uid('m'), event: 'Email Link Clicked' },
      { type: 'page', userId: b, messageId: uid('m'), properties: { path: '/', url: 'https://site.example/', referrer: 'https://Partner.example.net/list' } },
    ]);
    await drain(`u:${a}`);
    await drain(`u:${b}`);
    expect(await row(`u:${a}`)).toMatchObject({ source: 'direct', medium: 'none', campaign: null, referrer: null, converted_at: null });
    expect(await row(`u:${b}`)).toMatchObject({ source: 'partner.example.net', medium: 'referral', referrer: 'partner.example.net' });
  });
});

/**
 * The complete ledger through the API (issue 13, item 2): the lead read and the events listing of a lead with
 * expired points, inactivity penalties, a held scanner click and the clamp at 0 both add up to its scores.
 */
import { describe, expect, it } from 'vitest';
import type { LedgerLine } from '../../shared/api.js';
import { DAY, iso, ledgerSum as sum, listedLedger, readLead, serverBatch, uid } from './helpers.js';

const MIN = 60_000;
const SCANNER = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/** An entry's identity; a clamp is dated at the instant read, which differs between two reads. */
const key = (x: LedgerLine) => `${x.kind} ${x.points} ${x.counts} ${x.kind === 'clamp' ? 'now' : x.at} ${x.messageId ?? ''}`;

describe('the ledger of a lead read and of its events listing', () => {
  it('adds up to both scores: rule points, expiry, penalties, a held event and the clamp', async () => {
    const user = uid('u');
    const t0 = Date.now() - 100 * DAY;
    const recent = Date.now() - 5 * DAY;
    const res = await serverBatch([
      { type: 'page', userId: user, messageId: uid('m'), timestamp: iso(t0), properties: { path: '/pricing' } },
      { type: 'track', userId: user, messageId: uid('m'), timestamp: iso(t0 + MIN), event: 'Form Submitted', properties: { kind: 'content_download' } },
      // A crawler's page view: held for good, 0 points.
      { type: 'page', userId: user, messageId: uid('m'), timestamp: iso(recent - MIN), properties: { path: '/pricing' }, context: { userAgent: SCANNER } },
      { type: 'track', userId: user, messageId: uid('m'), timestamp: iso(recent), event: 'Unsubscribed', properties: {} },
    ]);
    expect(res.status).toBe(200);

    const lead = await (await readLead(user)).json<any>();
    expect([lead.leadScore, lead.engagementScore]).toEqual([0, 0]);
    const ledger: LedgerLine[] = lead.ledger;
    // +10 +8, three idle penalties (30, 60, 90 days), −50: the lead score's entries add up to −62, clamped.
    expect(ledger.filter((x) => x.kind === 'rule').map((x) => x.points)).toEqual([10, 8, -50]);
    expect(ledger.filter((x) => x.kind === 'penalty').map((x) => [x.points, x.counts])).toEqual([
      [-10, 'lead'],
      [-10, 'lead'],
      [-10, 'lead'],
    ]);
    expect(ledger.filter((x) => x.kind === 'expiry').map((x) => [x.points, x.counts])).toEqual([[-18, 'engagement']]);
    expect(ledger.filter((x) => x.kind === 'held')).toEqual([expect.objectContaining({ points: 0, reason: expect.stringMatching(/^held: a known crawler/) })]);
    expect(ledger.filter((x) => x.kind === 'clamp').map((x) => [x.counts, x.points])).toEqual([
      ['lead', 62],
      ['engagement', 50],
    ]);
    expect([sum(ledger, 'lead'), sum(ledger, 'engagement')]).toEqual([lead.leadScore, lead.engagementScore]);
    expect(lead.scoringTypes[0].ledger).toEqual(ledger);

    // Page by page, one event a page: every entry is on exactly one page, and together they are the lead's.
    const { entries: all, pages } = await listedLedger(user);
    expect(pages).toBe(4);
    expect([sum(all, 'lead'), sum(all, 'engagement')]).toEqual([0, 0]);
    expect(all.map(key).sort()).toEqual(ledger.map(key).sort());
  });

  it('shows a scanner burst held with 0 points, then its release and its points once a person shows up', async () => {
    const user = uid('u');
    const t = Date.now() - 2 * DAY;
    const clicks = [0, 200, 400].map((ms) => ({ type: 'track', userId: user, messageId: uid('m'), timestamp: iso(t + ms), event: 'Email Link Clicked', properties: { url: `https://example.com/${ms}` } }));
    await serverBatch(clicks);
    const held = await (await readLead(user)).json<any>();
    expect(held.engagementScore).toBe(0);
    expect(held.ledger.map((x: LedgerLine) => [x.kind, x.points])).toEqual(Array(3).fill(['held', 0]));

    await serverBatch([{ type: 'page', userId: user, messageId: uid('m'), timestamp: iso(t + DAY), properties: { path: '/blog/a' } }]);
    const lead = await (await readLead(user)).json<any>();
    const ledger: LedgerLine[] = lead.ledger;
    expect(ledger.filter((x) => x.kind === 'release').map((x) => x.messageId).sort()).toEqual(clicks.map((c) => c.messageId).sort());
    expect(ledger.filter((x) => x.kind === 'rule').map((x) => [x.rule, x.points, x.at])).toEqual([
      ...clicks.map((c) => ['email_click', 5, c.timestamp]),
      ['other_page', 1, iso(t + DAY)],
    ]);
    expect([sum(ledger, 'lead'), sum(ledger, 'engagement')]).toEqual([lead.leadScore, lead.engagementScore]);
    expect(lead.engagementScore).toBe(16);
  });
});

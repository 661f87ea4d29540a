import { describe, expect, it } from 'vitest';
import { checkBatch, checkSingle, formatProblems, parseIsoDate, tooDeep } from '../../shared/validate.js';
import { normalizeMessage } from '../../shared/normalize.js';
import { sentMessageId, type SegmentMessage } from '../../shared/events.js';

const ok = { type: 'track', event: 'Email Opened', userId: 'u1', messageId: 'a', timestamp: '2026-03-02T09:00:00Z' };

describe('checkBatch', () => {
  it('accepts a Segment batch', () => {
    expect(checkBatch({ batch: [ok, { type: 'page', anonymousId: 'x', properties: { path: '/' } }], sentAt: '2026-03-02T09:00:01.000Z' }).ok).toBe(true);
  });

  it('returns every problem with its path and reason', () => {
    const r = checkBatch({
      batch: [ok, ok, ok, { ...ok, timestamp: 'yesterday' }, { type: 'track', userId: 'u' }, { type: 'shout', userId: 'u' }, { type: 'page' }, 'x'],
      sentAt: 12,
    });
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => `${p.path}: ${p.reason}`)).toEqual([
      'batch[3].timestamp: not an ISO-8601 date (got "yesterday")',
      'batch[4].event: a track call needs the event name',
      'batch[5].type: "shout" is not a message type (track, page, screen, identify, group, alias)',
      'batch[6]: needs a userId or an anonymousId',
      'batch[7]: must be a JSON object (a Segment message)',
      'body.sentAt: not an ISO-8601 date (got 12)',
    ]);
  });

  it('checks the canonical events’ properties', () => {
    const r = checkBatch({
      batch: [
        { type: 'track', event: 'Form Submitted', userId: 'u', properties: { kind: 42 } },
        { type: 'track', event: 'Page Engaged', userId: 'u', properties: { seconds: -1 } },
        { type: 'track', event: 'Email Bounced', userId: 'u', properties: { type: 'permanent' } },
      ],
    });
    expect(formatProblems(r.problems)).toBe(
      'batch[0].properties.kind: must be a form kind string (demo_request, contact_sales, pricing_proposal, content_download, case_study_download, webinar_signup, newsletter, other); ' +
        'batch[1].properties.seconds: must be a number of seconds ≥ 0; batch[1].properties.path: must be the page path, starting with /; ' +
        'batch[2].properties.type: must be "hard" or "soft"',
    );
  });

  it('enforces Segment’s limits: 32 KB a message, 500 KB a batch', () => {
    const big = { ...ok, properties: { blob: 'x'.repeat(33 * 1024) } };
    expect(checkBatch({ batch: [big] }).problems[0].reason).toMatch(/the limit is 32 KB per message/);
    const many = Array.from({ length: 20 }, () => ({ ...ok, properties: { blob: 'x'.repeat(30 * 1024) } }));
    expect(checkBatch({ batch: many }).problems).toEqual([{ path: 'body', reason: expect.stringMatching(/the limit is 500 KB per batch/), tooLarge: true }]);
  });

  it('rejects empty and shapeless bodies', () => {
    expect(checkBatch({ batch: [] }).problems[0]).toEqual({ path: 'batch', reason: 'is empty; send at least one message' });
    expect(checkBatch([]).problems[0].path).toBe('body');
    expect(checkBatch({}).problems[0]).toEqual({ path: 'batch', reason: 'must be an array of messages' });
  });
});

describe('hostile values', () => {
  it('tooDeep names the first path past the limit, without recursing (a million levels)', () => {
    // x is level 1, x.a 2, x.a.b 3, x.a.b[1] 4, x.a.b[1].c 5; numbers and strings are not levels.
    expect(tooDeep({ a: { b: [1, { c: {} }] } }, 'x', 5)).toBeUndefined();
    expect(tooDeep({ a: { b: [1, { c: {} }] } }, 'x', 4)).toBe('x.a.b[1].c');
    expect(tooDeep({ a: { b: [1, { c: {} }] } }, 'x', 3)).toBe('x.a.b[1]');
    let deep: unknown = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(tooDeep({ p: deep }, 'batch[0]')).toBe('batch[0].p' + '[0]'.repeat(31));
    expect(tooDeep({ ['k'.repeat(1000)]: deep }, 'm')?.length).toBeLessThan(200); // long keys are shortened
  });

  it('impossible dates are not dates, whatever Date.parse says', () => {
    for (const bad of ['2026-02-29', '2026-02-30T10:00:00Z', '2026-04-31', '2026-01-01T24:00:00Z', '2026-01-01T10:60Z', '2026-01-01T10:00:61Z', '2026-01-01T10:00:00+24:00', '2026-00-10']) {
      expect(parseIsoDate(bad), bad).toBeUndefined();
    }
    expect(parseIsoDate('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoDate('2026-12-31T23:59:59.999+14:00')).toBe(Date.parse('2026-12-31T09:59:59.999Z'));
  });

  it('times from 2000-01-01 to a day ahead of the clock', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const at = (timestamp: string) => checkBatch({ batch: [{ ...ok, timestamp }] }, undefined, now).problems.map((p) => p.path);
    expect(at('2000-01-01T00:00:00Z')).toEqual([]);
    expect(at('2026-03-11T11:59:59Z')).toEqual([]);
    expect(at('1999-12-31T23:59:59Z')).toEqual(['batch[0].timestamp']);
    expect(at('2026-03-11T12:00:01Z')).toEqual(['batch[0].timestamp']);
    expect(checkSingle({ userId: 'u', event: 'x', originalTimestamp: '1970-01-01' }, 'track', undefined, now).problems).toEqual([
      { path: 'body.originalTimestamp', reason: '"1970-01-01" is outside 2000-01-01 … a day from now; check the clock or the code that sets it' },
    ]);
  });
});

describe('checkSingle', () => {
  it('takes the type from the URL and refuses a contradicting one', () => {
    expect(checkSingle({ userId: 'u', event: 'Deal Won' }, 'track').ok).toBe(true);
    expect(checkSingle({ type: 'page', userId: 'u' }, 'track').problems[0]).toEqual({ path: 'type', reason: '"page" sent to /v1/track' });
    expect(checkSingle({ event: 'x' }, 'track').problems[0]).toEqual({ path: 'body', reason: 'needs a userId or an anonymousId' });
  });
});

describe('normalizeMessage', () => {
  const receivedAt = Date.parse('2026-03-10T12:00:00Z');
  const msg = (timestamp: string, sentAt?: string) => ({ ...ok, timestamp, sentAt }) as SegmentMessage;

  it('corrects clock skew with sentAt, as Segment does', () => {
    // The client clock is 1 hour fast: sent "13:00", happened 5 minutes before that.
    const n = normalizeMessage(msg('2026-03-10T12:55:00Z', '2026-03-10T13:00:00Z'), { receivedAt, keyKind: 'public' });
    expect(new Date(n.event.timestamp).toISOString()).toBe('2026-03-10T11:55:00.000Z');
    expect(n.event.timeNote).toBeUndefined();
  });

  it('site keys keep client time back to 7 days, then clamp and say so; secret keys may backfill', () => {
    const old = msg('2026-02-01T00:00:00Z');
    const pub = normalizeMessage(old, { receivedAt, keyKind: 'public' });
    expect(pub.event.timestamp).toBe(receivedAt - 7 * 86_400_000);
    expect(pub.event.timeNote).toMatch(/older than 7 days/);
    const sec = normalizeMessage(old, { receivedAt, keyKind: 'secret' });
    expect(sec.event.timestamp).toBe(Date.parse('2026-02-01T00:00:00Z'));
    const future = normalizeMessage(msg('2026-03-11T12:00:00Z'), { receivedAt, keyKind: 'secret' });
    expect(future.event.timestamp).toBe(receivedAt);
    expect(future.event.timeNote).toMatch(/in the future/);
  });

  it('gives id-less messages a random id (never one a stranger could predict from the content), and finds the email that identifies', () => {
    const a = normalizeMessage({ type: 'identify', anonymousId: 'x', traits: { email: ' Ann@Example.com ' } }, { receivedAt, keyKind: 'secret' });
    const b = normalizeMessage({ type: 'identify', anonymousId: 'x', traits: { email: ' Ann@Example.com ' } }, { receivedAt, keyKind: 'secret' });
    expect(sentMessageId(a.event.messageId).messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.event.messageId).not.toBe(b.event.messageId);
    expect(a.email).toBe('ann@example.com');
  });

  it('keeps site-key and secret-key messageIds apart: dedupe is per source kind', () => {
    const site = normalizeMessage({ type: 'page', anonymousId: 'x', messageId: 'm-1' }, { receivedAt, keyKind: 'public' });
    const server = normalizeMessage({ type: 'page', anonymousId: 'x', messageId: 'm-1' }, { receivedAt, keyKind: 'secret' });
    expect(site.event.messageId).not.toBe(server.event.messageId);
    expect(sentMessageId(site.event.messageId)).toEqual({ messageId: 'm-1', source: 'site' });
    expect(sentMessageId(server.event.messageId)).toEqual({ messageId: 'm-1', source: 'server' });
  });

  it('scores a site’s own form kind as other, keeping it; only forms and identify calls identify by email', () => {
    const form = normalizeMessage({ type: 'track', event: 'Form Submitted', anonymousId: 'x', properties: { kind: 'signup', email: 'a@b.co' } }, { receivedAt, keyKind: 'public' });
    expect(form.event.properties).toMatchObject({ kind: 'other', siteKind: 'signup' });
    expect(form.email).toBe('a@b.co');
    const invite = normalizeMessage({ type: 'track', event: 'Colleague Invited', anonymousId: 'x', properties: { email: 'colleague@b.co' } }, { receivedAt, keyKind: 'public' });
    expect(invite.email).toBeUndefined();
  });

  it('takes a page’s path from context.page when properties lack it', () => {
    const n = normalizeMessage({ type: 'page', anonymousId: 'x', context: { page: { path: '/pricing', url: 'https://x.test/pricing' } } }, { receivedAt, keyKind: 'public' });
    expect(n.event.properties.path).toBe('/pricing');
  });

  it('keeps a page view’s UTM tags (context.campaign) with it', () => {
    const n = normalizeMessage({ type: 'page', anonymousId: 'x', properties: { path: '/' }, context: { campaign: { source: 'google', medium: 'cpc' } } }, { receivedAt, keyKind: 'public' });
    expect(n.event.properties.campaign).toEqual({ source: 'google', medium: 'cpc' });
  });
});

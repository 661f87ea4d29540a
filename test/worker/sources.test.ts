/**
 * Email-service sources: each provider's documented webhook, signed the way that provider signs it, moves the
 * lead with that email; a retry counts once; a delivery without the provider's proof stores nothing.
 */
import { describe, expect, it } from 'vitest';
import app from '../../worker/index.js';
import { BASE, SECRET, call, env, readLead, uid } from './helpers.js';
import { eventsOf, mail, now, postSendgrid, sendgridHeaders } from './sendgrid.js';

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** SendGrid's documented sample events (Event Webhook reference), for one recipient, a few minutes ago. */
function sendgridSample(email: string, t = now() - 300) {
  const common = { email, 'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>', category: 'cat facts', sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0' };
  return [
    { ...common, timestamp: t, event: 'processed', sg_event_id: 'rbtnWrG1DVDGGGFHFyun0A' },
    { ...common, timestamp: t + 1, event: 'delivered', response: '250 OK', sg_event_id: 'rWVYmVk90MjZJ9iohOBa3w' },
    { ...common, timestamp: t + 60, event: 'open', sg_machine_open: false, useragent: 'Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)', ip: '255.255.255.255', sg_event_id: 'FOTFFO0ecsBE-zxFXfs6WA' },
    { ...common, timestamp: t + 90, event: 'click', useragent: 'Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)', ip: '255.255.255.255', url: 'http://www.sendgrid.com/', sg_event_id: 'kCAi1KttyQdEKHhdC-nuEA' },
  ];
}

describe('POST /v1/sources/sendgrid', () => {
  it('maps a signed event batch onto the lead with that email: an open and a click score, a delivery is kept for the scanner check', async () => {
    const email = mail();
    const res = await postSendgrid(sendgridSample(email));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, source: 'sendgrid', received: 4, accepted: 3, duplicates: 0, skipped: 1, skips: [{ index: 0, reason: '"processed" is not engagement' }] });
    // Open +1, click +5 (a minute and more after delivery: a person's); a click is at least warm.
    expect(await (await readLead(email)).json()).toMatchObject({ level: 'warm', engagementScore: 6, doNotContact: false });
    const [click] = (await eventsOf(email)).filter((e) => e.event === 'Email Link Clicked');
    expect(click).toMatchObject({
      points: 5,
      properties: { provider: 'sendgrid', providerEvent: 'click', url: 'http://www.sendgrid.com/', category: ['cat facts'], ip: '255.255.255.255', userAgent: expect.stringContaining('Mozilla/4.0') },
    });
    expect(click.messageId).toMatch(/^sendgrid:[0-9a-f]{32}$/);
  });

  it('a retried delivery counts once, though SendGrid gives its events new sg_event_ids and signs it anew', async () => {
    const email = mail();
    const first = sendgridSample(email);
    expect(await (await postSendgrid(first)).json()).toMatchObject({ accepted: 3, duplicates: 0 });
    const retry = first.map((e, i) => ({ ...e, sg_event_id: `retry-${i}-${uid()}` }));
    expect(await (await postSendgrid(retry)).json()).toMatchObject({ accepted: 0, duplicates: 3 });
    expect(await (await readLead(email)).json()).toMatchObject({ engagementScore: 6 });
  });

  it('an unsubscribe, a group unsubscribe, a spam report and a hard bounce suppress; a block is a soft bounce', async () => {
    const t = now() - 120;
    const cases = [
      { event: 'unsubscribe', expect: { event: 'Unsubscribed', properties: { reason: 'unsubscribe' } } },
      { event: 'group_unsubscribe', asm_group_id: 10, expect: { event: 'Unsubscribed', properties: { reason: 'group_unsubscribe', group: '10' } } },
      { event: 'spamreport', expect: { event: 'Unsubscribed', properties: { reason: 'spam_report' } } },
      { event: 'bounce', type: 'bounce', reason: '500 unknown recipient', status: '5.0.0', expect: { event: 'Email Bounced', properties: { type: 'hard', reason: '500 unknown recipient' } } },
    ];
    for (const { expect: want, ...raw } of cases) {
      const email = mail();
      // A click first, so the suppression has a level to take away.
      const res = await postSendgrid([
        { email, timestamp: t, event: 'click', url: 'https://example.com/pricing', sg_message_id: 'm1' },
        { email, timestamp: t + 5, sg_message_id: 'm1', ...raw },
      ]);
      expect(await res.json()).toMatchObject({ accepted: 2 });
      expect(await (await readLead(email)).json()).toMatchObject({ level: 'cold', doNotContact: true });
      expect((await eventsOf(email))[0]).toMatchObject(want);
    }
    const soft = mail();
    await postSendgrid([{ email: soft, timestamp: t, event: 'bounce', type: 'blocked', reason: 'temporarily deferred', sg_message_id: 'm2' }]);
    expect(await (await readLead(soft)).json()).toMatchObject({ doNotContact: false });
    expect((await eventsOf(soft))[0]).toMatchObject({ event: 'Email Bounced', properties: { type: 'soft' } });
  });

  it('skips and counts events without an email or of unknown types, and answers 200', async () => {
    const email = mail();
    const res = await postSendgrid([{ timestamp: now(), event: 'open' }, { email, timestamp: now(), event: 'teleported' }, 'nonsense', { email, timestamp: now() - 10, event: 'open', sg_message_id: 'x' }]);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ received: 4, accepted: 1, skipped: 3, skips: [{ index: 0 }, { index: 1, reason: 'unknown event "teleported"' }, { index: 2 }] });
  });

  it('refuses a bad, missing or stale signature with 401 and stores nothing', async () => {
    const email = mail();
    const events = sendgridSample(email);
    const body = JSON.stringify(events);
    const tampered = JSON.stringify(events.map((e) => ({ ...e, url: 'https://evil.example/' })));
    const signed = await sendgridHeaders(body);
    const refused = [
      await call('/v1/sources/sendgrid', { method: 'POST', headers: signed, body: tampered }),
      await call('/v1/sources/sendgrid', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }),
      await call('/v1/sources/sendgrid', { method: 'POST', headers: { ...signed, 'X-Twilio-Email-Event-Webhook-Signature': 'bm90IGEgc2lnbmF0dXJl' }, body }),
      // Ten minutes old: a captured delivery replayed.
      await call('/v1/sources/sendgrid', { method: 'POST', headers: await sendgridHeaders(body, String(now() - 600)), body }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    expect(await Promise.all(refused.map(async (r) => (await r.json<any>()).error))).toEqual(['signature_invalid', 'signature_missing', 'signature_invalid', 'signature_expired']);
    expect((await readLead(email)).status).toBe(404);
  });

  it('a delivery over 1 MB is 413, stored nothing', async () => {
    const email = mail();
    const big = [{ email, timestamp: now(), event: 'open', sg_message_id: 'big', padding: 'x'.repeat(1100 * 1024) }];
    const res = await postSendgrid(big);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large', message: expect.stringContaining('email-service webhook') });
    expect((await readLead(email)).status).toBe(404);
  });

  it('a signed body that is not an event array is 400', async () => {
    const res = await postSendgrid({ event: 'open', email: mail() });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });
});

// ---- Mailgun: hex HMAC-SHA256 of timestamp + token under the signing key, in the body.

async function mailgunSignature(timestamp = String(now()), token = uid('token').padEnd(50, '0')) {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(env.MAILGUN_WEBHOOK_SIGNING_KEY!), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return { timestamp, token, signature: hex(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(timestamp + token))) };
}

/** Mailgun's documented "clicked" payload (Webhook Payloads), for one recipient. */
const mailgunClicked = (recipient: string, t = now() - 200) => ({
  event: 'clicked',
  id: 'Ase7i2zsRYeDXztHGENqRA',
  timestamp: t + 0.329574,
  'log-level': 'info',
  recipient,
  'recipient-domain': 'example.com',
  url: 'https://example.com/pricing',
  ip: '50.56.129.169',
  geolocation: { country: 'US', region: 'CA', city: 'San Francisco' },
  'client-info': { 'client-type': 'browser', 'client-os': 'OS X', 'device-type': 'desktop', 'client-name': 'Chrome', 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3163.100 Safari/537.36' },
  campaigns: [],
  tags: ['my_tag_1', 'my_tag_2'],
  'user-variables': { 'my-var-1': 'Mailgun Variable #1' },
  message: { headers: { 'message-id': '20130503182626.18666.16540@example.com' } },
});

const postMailgun = (json: unknown) => call('/v1/sources/mailgun', { method: 'POST', json });

describe('POST /v1/sources/mailgun', () => {
  it('takes a signed "clicked" event: the click scores, a retry (new token, same event) counts once', async () => {
    const email = mail();
    const data = mailgunClicked(email);
    const res = await postMailgun({ signature: await mailgunSignature(), 'event-data': data });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ source: 'mailgun', received: 1, accepted: 1 });
    expect(await (await postMailgun({ signature: await mailgunSignature(), 'event-data': data })).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await (await readLead(email)).json()).toMatchObject({ level: 'warm', engagementScore: 5 });
    expect((await eventsOf(email))[0]).toMatchObject({
      event: 'Email Link Clicked',
      properties: { provider: 'mailgun', url: 'https://example.com/pricing', category: ['my_tag_1', 'my_tag_2'], ip: '50.56.129.169', userAgent: expect.stringContaining('Chrome/61') },
    });
  });

  it('a permanent failure is a hard bounce and a complaint a spam report: both suppress; a temporary failure is soft', async () => {
    const hard = mail();
    await postMailgun({ signature: await mailgunSignature(), 'event-data': { ...mailgunClicked(hard), event: 'failed', severity: 'permanent', reason: 'bounce', 'delivery-status': { code: 550, message: 'No such user' } } });
    expect(await (await readLead(hard)).json()).toMatchObject({ level: 'cold', doNotContact: true });
    expect((await eventsOf(hard))[0]).toMatchObject({ event: 'Email Bounced', properties: { type: 'hard', status: '550' } });
    const spam = mail();
    await postMailgun({ signature: await mailgunSignature(), 'event-data': { ...mailgunClicked(spam), event: 'complained' } });
    expect(await (await readLead(spam)).json()).toMatchObject({ doNotContact: true });
    expect((await eventsOf(spam))[0]).toMatchObject({ event: 'Unsubscribed', properties: { reason: 'spam_report' } });
    const soft = mail();
    await postMailgun({ signature: await mailgunSignature(), 'event-data': { ...mailgunClicked(soft), event: 'failed', severity: 'temporary' } });
    expect(await (await readLead(soft)).json()).toMatchObject({ doNotContact: false });
  });

  it('refuses a wrong, missing or stale signature with 401 and stores nothing; a body without event-data is 400', async () => {
    const email = mail();
    const data = mailgunClicked(email);
    const forged = { ...(await mailgunSignature()), signature: 'ab'.repeat(32) };
    const responses = [
      await postMailgun({ signature: forged, 'event-data': data }),
      await postMailgun({ 'event-data': data }),
      await postMailgun({ signature: await mailgunSignature(String(now() - 3600)), 'event-data': data }),
    ];
    expect(responses.map((r) => r.status)).toEqual([401, 401, 401]);
    expect(await Promise.all(responses.map(async (r) => (await r.json<any>()).error))).toEqual(['signature_invalid', 'signature_missing', 'signature_expired']);
    expect((await readLead(email)).status).toBe(404);
    expect((await postMailgun({ signature: await mailgunSignature() })).status).toBe(400);
    expect((await call('/v1/sources/mailgun', { method: 'POST', body: 'event=opened' })).status).toBe(400);
  });
});

// ---- Postmark: HTTP Basic credentials in the webhook URL.

const postmarkAuth = 'Basic ' + btoa(`${env.POSTMARK_WEBHOOK_USER}:${env.POSTMARK_WEBHOOK_PASSWORD}`);
const postPostmark = (json: unknown, auth = postmarkAuth) => call('/v1/sources/postmark', { method: 'POST', headers: { Authorization: auth }, json });
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

/** Postmark's documented Open, Click and Bounce webhook bodies, for one recipient. */
const postmarkOpen = (email: string) => ({
  RecordType: 'Open',
  MessageStream: 'outbound',
  FirstOpen: true,
  Client: { Name: 'Chrome 35.0.1916.153', Company: 'Google', Family: 'Chrome' },
  OS: { Name: 'OS X 10.7 Lion', Company: 'Apple Computer, Inc.', Family: 'OS X 10' },
  Platform: 'WebMail',
  UserAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36',
  ReadSeconds: 5,
  Geo: { CountryISOCode: 'RS', Country: 'Serbia', City: 'Novi Sad', IP: '188.2.95.4' },
  MessageID: '00000000-0000-0000-0000-000000000000',
  Metadata: { a_key: 'a_value' },
  ReceivedAt: ago(400),
  Tag: 'welcome-email',
  Recipient: email,
});
const postmarkClick = (email: string) => ({
  ...postmarkOpen(email),
  RecordType: 'Click',
  FirstOpen: undefined,
  ClickLocation: 'HTML',
  OriginalLink: 'https://example.com/case-studies/acme',
  ReceivedAt: ago(300),
});
const postmarkBounce = (email: string, type = 'HardBounce') => ({
  RecordType: 'Bounce',
  MessageStream: 'outbound',
  ID: 4323372036854775807,
  Type: type,
  TypeCode: 1,
  Name: 'Hard bounce',
  Tag: 'Test',
  MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
  Metadata: { a_key: 'a_value' },
  ServerID: 23,
  Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
  Details: 'Test bounce details',
  Email: email,
  From: 'sender@example.com',
  BouncedAt: ago(100),
  DumpAvailable: true,
  Inactive: true,
  CanActivate: true,
  Subject: 'Test subject',
});

describe('POST /v1/sources/postmark', () => {
  it('takes an Open and a Click with its Basic credentials; a retry counts once', async () => {
    const email = mail();
    expect(await (await postPostmark(postmarkOpen(email))).json()).toMatchObject({ source: 'postmark', accepted: 1 });
    const click = postmarkClick(email);
    expect(await (await postPostmark(click)).json()).toMatchObject({ accepted: 1 });
    // Postmark resends the same record.
    expect(await (await postPostmark(click)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await (await readLead(email)).json()).toMatchObject({ level: 'warm', engagementScore: 6 });
    const [clicked, open] = await eventsOf(email);
    expect(clicked).toMatchObject({ event: 'Email Link Clicked', properties: { provider: 'postmark', url: 'https://example.com/case-studies/acme', ip: '188.2.95.4', category: ['welcome-email'] } });
    expect(open).toMatchObject({ event: 'Email Opened', properties: { firstOpen: true } });
  });

  it('a hard bounce, a spam complaint and a manual unsubscribe suppress; a soft bounce does not', async () => {
    const hard = mail();
    await postPostmark(postmarkBounce(hard));
    expect(await (await readLead(hard)).json()).toMatchObject({ level: 'cold', doNotContact: true });
    const spam = mail();
    await postPostmark({ ...postmarkBounce(spam, 'SpamComplaint'), RecordType: 'SpamComplaint', TypeCode: 512 });
    expect((await eventsOf(spam))[0]).toMatchObject({ event: 'Unsubscribed', properties: { reason: 'spam_report' } });
    const unsub = mail();
    const change = { RecordType: 'SubscriptionChange', MessageID: '883953f4-6105-42a2-a16a-77a8eac79483', ServerID: 123456, MessageStream: 'outbound', ChangedAt: ago(50), Recipient: unsub, Origin: 'Recipient', SuppressSending: true, SuppressionReason: 'ManualSuppression', Tag: 'my-tag', Metadata: {} };
    expect(await (await postPostmark(change)).json()).toMatchObject({ accepted: 1 });
    expect(await (await readLead(unsub)).json()).toMatchObject({ doNotContact: true });
    const soft = mail();
    await postPostmark({ ...postmarkBounce(soft, 'SoftBounce'), TypeCode: 4096 });
    expect(await (await readLead(soft)).json()).toMatchObject({ doNotContact: false });
    expect((await eventsOf(soft))[0]).toMatchObject({ event: 'Email Bounced', properties: { type: 'soft' } });
  });

  it('refuses missing or wrong credentials with 401 and stores nothing', async () => {
    const email = mail();
    const none = await call('/v1/sources/postmark', { method: 'POST', json: postmarkOpen(email) });
    const wrong = await postPostmark(postmarkOpen(email), 'Basic ' + btoa(`${env.POSTMARK_WEBHOOK_USER}:guess`));
    expect([none.status, wrong.status]).toEqual([401, 401]);
    expect(none.headers.get('WWW-Authenticate')).toMatch(/^Basic/);
    expect((await readLead(email)).status).toBe(404);
  });
});

describe('a source that is not configured', () => {
  // The same Worker with one provider's settings taken away (the test run configures all three).
  const without = (keys: string[], path: string, init: RequestInit) => {
    const e: Record<string, unknown> = { ...env };
    for (const k of keys) delete e[k];
    return app.request(BASE + path, init, e);
  };

  it('answers 404 with what to set, never 500, and stores nothing', async () => {
    const email = mail();
    const body = JSON.stringify(sendgridSample(email));
    const responses = [
      await without(['SENDGRID_WEBHOOK_PUBLIC_KEY'], '/v1/sources/sendgrid', { method: 'POST', headers: await sendgridHeaders(body), body }),
      await without(['MAILGUN_WEBHOOK_SIGNING_KEY'], '/v1/sources/mailgun', { method: 'POST', body: JSON.stringify({ signature: await mailgunSignature(), 'event-data': mailgunClicked(email) }) }),
      await without(['POSTMARK_WEBHOOK_PASSWORD'], '/v1/sources/postmark', { method: 'POST', headers: { Authorization: postmarkAuth }, body: JSON.stringify(postmarkOpen(email)) }),
    ];
    expect(responses.map((r) => r.status)).toEqual([404, 404, 404]);
    for (const r of responses) expect(await r.json()).toMatchObject({ error: 'source_not_configured', message: expect.stringContaining('wrangler secret put') });
    expect((await readLead(email)).status).toBe(404);
  });

  it('a SendGrid key that is not a P-256 public key is 503 source_misconfigured', async () => {
    const body = JSON.stringify(sendgridSample(mail()));
    const res = await app.request(BASE + '/v1/sources/sendgrid', { method: 'POST', headers: await sendgridHeaders(body), body }, { ...env, SENDGRID_WEBHOOK_PUBLIC_KEY: 'bm90IGEga2V5' });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'source_misconfigured' });
  });
});

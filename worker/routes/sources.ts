/**
 * Email-service sources: `POST /v1/sources/sendgrid`, `/mailgun`, `/postmark` take each provider's event webhook
 * as it sends it, verified by the provider's own scheme (sources/verify.ts), and store its opens, clicks, bounces,
 * unsubscribes and spam reports as canonical events of the lead with that email (sources/events.ts), through the
 * same lead path as ingest.
 *
 * A verified delivery always answers 2xx when its body has the provider's shape: events without an email or of
 * types that are not engagement are skipped and counted (a provider retries a non-2xx for hours, and would
 * resend the skipped events forever). A bad signature is 401 and stores nothing.
 */
import { Hono, type Context } from 'hono';
import { normalizeMessage, type NormalizedMessage } from '../../shared/normalize.js';
import type { Env } from '../env.js';
import { fail } from '../errors.js';
import { readText } from '../body.js';
import { plan, send, tally } from '../deliver.js';
import { mailgunEvent, postmarkEvent, sendgridEvent, sourceMessageId, type Mapped, type Provider } from '../sources/events.js';
import { SourceConfigError, verifyBasic, verifyMailgun, verifySendgrid, type MailgunSignature, type Verdict } from '../sources/verify.js';

type C = Context<{ Bindings: Env }>;

/** SendGrid posts batches of up to 768 KB (or every 30 s); the others one event at a time. */
const SOURCE_MAX_BYTES = 1024 * 1024;
/** The answer names at most this many skipped events (all are counted). */
const SKIPS_SHOWN = 50;

const SETUP: Record<Provider, string> = {
  sendgrid: 'set SENDGRID_WEBHOOK_PUBLIC_KEY (wrangler secret put SENDGRID_WEBHOOK_PUBLIC_KEY) to the verification key SendGrid shows under Signed Event Webhook',
  mailgun: 'set MAILGUN_WEBHOOK_SIGNING_KEY (wrangler secret put MAILGUN_WEBHOOK_SIGNING_KEY) to the HTTP webhook signing key in Mailgun\'s webhook settings',
  postmark: 'set POSTMARK_WEBHOOK_USER and POSTMARK_WEBHOOK_PASSWORD (wrangler secret put …) and put them in the webhook URL Postmark calls',
};

function notConfigured(provider: Provider): never {
  fail(404, 'source_not_configured', `the ${provider} source is not configured on this collector: ${SETUP[provider]}`, { source: provider });
}

/** The provider's proof, else 401; a configured key that cannot be used is 503 (the operator's to fix). */
async function check(provider: Provider, verdict: () => Promise<Verdict>, headers: Record<string, string> = {}): Promise<void> {
  let v: Verdict;
  try {
    v = await verdict();
  } catch (err) {
    if (err instanceof SourceConfigError) fail(503, 'source_misconfigured', `the ${provider} source is misconfigured: ${err.message}`, { source: provider });
    throw err;
  }
  if (!v.ok) fail(401, v.error, `${provider} webhook refused: ${v.message}`, { source: provider }, headers);
}

async function readBody(c: C): Promise<string> {
  return (await readText(c.req.raw, SOURCE_MAX_BYTES, `the limit for an email-service webhook is ${SOURCE_MAX_BYTES / 1024} KB`)).text;
}

function parse(provider: Provider, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(400, 'invalid_json', `the ${provider} webhook body is not JSON: ${(err as Error).message}`, { source: provider });
  }
}

/** Stores the mapped events in their leads and answers with the counts. */
async function deliver(c: C, provider: Provider, mapped: Mapped[]) {
  const receivedAt = Date.now();
  const skipped = mapped.flatMap((m, index) => (m.ok ? [] : [{ index, reason: m.reason }]));
  const events = mapped.flatMap((m) => (m.ok ? [m.value] : []));
  const normalized: NormalizedMessage[] = await Promise.all(
    events.map(async (e) => {
      const n = normalizeMessage(
        { type: 'track', event: e.event, messageId: await sourceMessageId(provider, e), timestamp: new Date(e.at).toISOString(), properties: e.properties },
        // The provider's clock is trusted like a server's: history kept as it happened, the future clamped.
        { receivedAt, keyKind: 'secret' },
      );
      return { ...n, email: e.email };
    }),
  );
  const deliveries = plan(c.env, normalized, true, `this ${provider} delivery`);
  // Rate limits are for site keys: a provider's deliveries are never refused by one.
  const { accepted, duplicates, erased } = tally(await send(c.env, deliveries, { receivedAt, source: 'secret' }));
  return c.json({
    ...(erased ? { erased } : {}),
    success: true,
    source: provider,
    received: mapped.length,
    accepted,
    duplicates,
    skipped: skipped.length,
    skips: skipped.slice(0, SKIPS_SHOWN),
  });
}

export const sourceRoutes = new Hono<{ Bindings: Env }>()
  .post('/sendgrid', async (c) => {
    const key = c.env.SENDGRID_WEBHOOK_PUBLIC_KEY?.trim();
    if (!key) notConfigured('sendgrid');
    // The signature is over the body's exact bytes: verified before it is parsed.
    const text = await readBody(c);
    await check('sendgrid', () => verifySendgrid(key, c.req.raw.headers, text));
    const body = parse('sendgrid', text);
    if (!Array.isArray(body)) fail(400, 'invalid_request', 'a SendGrid event webhook body is a JSON array of events', { source: 'sendgrid' });
    return deliver(c, 'sendgrid', body.map(sendgridEvent));
  })
  .post('/mailgun', async (c) => {
    const key = c.env.MAILGUN_WEBHOOK_SIGNING_KEY?.trim();
    if (!key) notConfigured('mailgun');
    const body = parse('mailgun', await readBody(c)) as { signature?: MailgunSignature; 'event-data'?: unknown } | null;
    const shaped = typeof body === 'object' && body !== null && !Array.isArray(body);
    await check('mailgun', () => verifyMailgun(key, shaped ? body.signature : undefined));
    const data = body!['event-data'];
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      fail(400, 'invalid_request', 'a Mailgun webhook body is {signature, "event-data": {…}}; "event-data" is missing', { source: 'mailgun' });
    }
    return deliver(c, 'mailgun', [mailgunEvent(data as Record<string, unknown>)]);
  })
  .post('/postmark', async (c) => {
    const user = c.env.POSTMARK_WEBHOOK_USER;
    const password = c.env.POSTMARK_WEBHOOK_PASSWORD;
    if (!user || !password) notConfigured('postmark');
    // Credentials before the body is read: an unauthenticated caller gets nothing parsed.
    await check('postmark', () => verifyBasic(user, password, c.req.header('Authorization')), { 'WWW-Authenticate': 'Basic realm="leadlevel postmark source"' });
    const body = parse('postmark', await readBody(c));
    // Postmark posts one record; an array (a replay tool's batch) is taken as well.
    const records = Array.isArray(body) ? body : [body];
    if (!records.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
      fail(400, 'invalid_request', 'a Postmark webhook body is a JSON object with a RecordType', { source: 'postmark' });
    }
    return deliver(c, 'postmark', records.map(postmarkEvent));
  });

/**
 * One attempt to tell one destination: a signed webhook, a Slack message or an email, with a time limit. The
 * outcome says what the caller does next (done, retry, or stop: a 410 means the receiver is gone for good).
 */
import type { Env } from '../env.js';
import { DEFAULT_EMAIL_API_URL, emailMessage } from './email.js';
import type { NotificationBody } from './message.js';
import { slackMessage } from './slack.js';
import type { Destination } from './teams.js';
import { signedHeaders, webhookSecret } from './webhook.js';

export interface Outcome {
  ok: boolean;
  /** The receiver's HTTP status; null when there was no answer (refused, timed out, not configured). */
  status: number | null;
  error: string | null;
  /** 410 Gone: the receiver asks never to be called again. */
  gone: boolean;
}

/** How long a receiver may take to answer before the attempt counts as failed (and is retried, same id). */
const DEFAULT_TIMEOUT_MS = 10_000;

/** What a destination is, for the disabled list: its URL, or its addresses. */
export const targetOf = (d: Destination) => (d.type === 'email' ? d.to.join(',') : d.url);

function request(d: Destination, body: NotificationBody, id: string, env: Env): { url: string; init: RequestInit } | string {
  if (d.type === 'webhook') {
    const { secret, problems } = webhookSecret(env);
    if (!secret) return problems.map((p) => `${p.path} ${p.reason}`).join('; ');
    const text = JSON.stringify(body);
    return { url: d.url, init: { method: 'POST', headers: { 'Content-Type': 'application/json', ...signedHeaders(secret, id, text) }, body: text } };
  }
  if (d.type === 'slack') return { url: d.url, init: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(slackMessage(body)) } };
  if (!env.EMAIL_API_KEY) return 'EMAIL_API_KEY is not set: email destinations need an email provider key (README, "Email destinations")';
  const base = (env.EMAIL_API_URL || DEFAULT_EMAIL_API_URL).replace(/\/+$/, '');
  const from = env.EMAIL_FROM || 'leadlevel <notifications@leadlevel.invalid>';
  return {
    url: `${base}/emails`,
    init: {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${env.EMAIL_API_KEY}`, 'Idempotency-Key': id },
      body: JSON.stringify(emailMessage(body, from, d.to)),
    },
  };
}

export async function send(d: Destination, body: NotificationBody, id: string, env: Env): Promise<Outcome> {
  const req = request(d, body, id, env);
  if (typeof req === 'string') return { ok: false, status: null, error: `not sent: ${req}`, gone: false };
  const limit = Number(env.NOTIFY_TIMEOUT_MS) > 0 ? Number(env.NOTIFY_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
  try {
    const res = await fetch(req.url, { ...req.init, signal: AbortSignal.timeout(limit), redirect: 'manual' });
    // Only the status matters; the body is not read (a receiver cannot make us hold a large answer).
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: null, gone: false };
    return { ok: false, status: res.status, error: `answered HTTP ${res.status}`, gone: res.status === 410 };
  } catch (err) {
    const name = (err as Error)?.name;
    const error = name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${limit} ms` : `could not be reached: ${(err as Error)?.message ?? String(err)}`;
    return { ok: false, status: null, error, gone: false };
  }
}

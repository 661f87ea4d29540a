/** The tests' loopback HTTP receiver (test/e2e/receiver.ts), as the Worker tests read it: boxes, modes, signatures. */
import { Webhook } from 'standardwebhooks';
import { vi } from 'vitest';
import { DEV_WEBHOOK_SECRET } from '../../worker/notify/webhook.js';
import { env } from './helpers.js';

const receiver = env.TEST_RECEIVER;

export interface Received {
  box: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

/** Makes a box answer `status` after `delayMs`. */
export const mode = (box: string, status: number, delayMs = 0) => fetch(`${receiver}/_mode/${box}`, { method: 'POST', body: JSON.stringify({ status, delayMs }) });

/** What a box received about one lead, oldest first. */
export async function received(box: string, leadId: string): Promise<Received[]> {
  const all = (await (await fetch(`${receiver}/_log/${box}`)).json()) as Received[];
  return all.filter((r) => r.body.includes(JSON.stringify(leadId).slice(1, -1)));
}

/** The body of a signed webhook, checked with the Standard Webhooks library; throws when the signature is wrong. */
export const verify = (r: Received) => {
  // Verified at the instant it was signed: the library refuses timestamps five minutes off its clock.
  vi.setSystemTime(Number(r.headers['webhook-timestamp']) * 1000);
  try {
    return new Webhook(DEV_WEBHOOK_SECRET).verify(r.body, r.headers) as { type: string; data: any };
  } finally {
    vi.useRealTimers();
  }
};

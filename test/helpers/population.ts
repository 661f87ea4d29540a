/**
 * A simulated population with a known generating model, as Segment messages: each lead does a random number
 * of each action, and converts (`Opportunity Created`, after its last action) with probability
 * sigmoid(TRUE_INTERCEPT + Σ TRUE_WEIGHTS[action] · count). After converting, a converted lead also attends a
 * webinar and views pricing — actions that follow the outcome and must earn no credit for it.
 */
import type { JsonObject } from '../../shared/events.js';

export const DAY = 86_400_000;

/** Log-odds per action, the truth the regression should recover the ordering of. */
export const TRUE_WEIGHTS = { demo_request: 2.0, pricing_visit: 0.6, email_click: 0.3, other_page: 0 } as const;
export const TRUE_INTERCEPT = -2.6;

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** mulberry32: a tiny seeded generator, so a population is the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(random: () => number, mean: number): number {
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  for (;;) {
    p *= random();
    if (p <= l) return k;
    k++;
  }
}

export interface SimulatedLead {
  id: string;
  messages: JsonObject[];
  counts: Record<keyof typeof TRUE_WEIGHTS, number>;
  probability: number;
  converted: boolean;
}

export interface PopulationOptions {
  leads: number;
  seed: number;
  /** The first lead's first action. */
  start: number;
  /** Lead id prefix (userIds). */
  prefix?: string;
}

/** Each lead's messages are in time order; leads follow one another. */
export function population({ leads, seed, start, prefix = 'sim' }: PopulationOptions): SimulatedLead[] {
  const random = rng(seed);
  const out: SimulatedLead[] = [];
  for (let i = 0; i < leads; i++) {
    const id = `${prefix}-${String(i).padStart(6, '0')}`;
    const counts = {
      demo_request: random() < 0.15 ? 1 : 0,
      pricing_visit: poisson(random, 1.2),
      email_click: poisson(random, 1.5),
      other_page: poisson(random, 3),
    };
    const actions: string[] = [];
    for (const [k, n] of Object.entries(counts)) for (let j = 0; j < n; j++) actions.push(k);
    // A random order, one action every few hours from the lead's own start.
    for (let j = actions.length - 1; j > 0; j--) {
      const r = Math.floor(random() * (j + 1));
      [actions[j], actions[r]] = [actions[r], actions[j]];
    }
    let t = start + Math.floor(random() * 20) * DAY + (i % 1000) * 1000;
    const messages: JsonObject[] = [];
    let n = 0;
    const push = (m: JsonObject) => messages.push({ ...m, userId: id, messageId: `${id}-${n++}`, timestamp: new Date(t).toISOString() });
    push({ type: 'page', properties: { path: '/' } });
    for (const a of actions) {
      t += 3_600_000 + Math.floor(random() * 20 * 3_600_000);
      if (a === 'demo_request') push({ type: 'track', event: 'Form Submitted', properties: { form: 'demo', kind: 'demo_request' } });
      else if (a === 'pricing_visit') push({ type: 'page', properties: { path: '/pricing' } });
      else if (a === 'email_click') push({ type: 'track', event: 'Email Link Clicked', properties: {} });
      else push({ type: 'page', properties: { path: `/blog/post-${Math.floor(random() * 50)}` } });
    }
    let z = TRUE_INTERCEPT;
    for (const [k, w] of Object.entries(TRUE_WEIGHTS)) z += w * counts[k as keyof typeof TRUE_WEIGHTS];
    const probability = sigmoid(z);
    const converted = random() < probability;
    if (converted) {
      t += DAY;
      push({ type: 'track', event: 'Opportunity Created', properties: {} });
      t += 3_600_000;
      push({ type: 'track', event: 'Webinar Attended', properties: {} });
      t += 3_600_000;
      push({ type: 'page', properties: { path: '/pricing' } });
    }
    out.push({ id, messages, counts, probability, converted });
  }
  return out;
}

/**
 * The personalization holdout (SPEC "Model lifecycle and learning"): a share of visitors, chosen by a stable hash
 * of their anonymous id, sees the default content (the lowest level's) whatever their level, so the conversion
 * of personalized visitors can be compared with a control group (worker/holdout-insights.ts). The edge records
 * what each page showed as `Experience Viewed {slot, variant, holdout, level, path}` events of the Worker's own:
 * a site key cannot send them (shared/events.ts SERVER_EVENTS), so a browser cannot pick its own group or
 * pretend to have seen anything.
 */
import type { LeadEvent } from '../shared/events.js';
import { EXPERIENCE_VIEWED, storedMessageId } from '../shared/events.js';
import { heldOut } from '../shared/holdout.js';
import type { Env } from './env.js';
import { anonKey } from './identity.js';
import { leadStub } from './lead/index.js';
import { activeModel } from './model.js';
import { MAX_HOLDOUT, siteConfig } from './site.js';

/** The holdout share: `PERSONALIZATION_HOLDOUT` when set to a share (an experiment per environment), else the site file's. */
export function holdoutShare(env: Pick<Env, 'PERSONALIZATION_HOLDOUT'>, fileShare = siteConfig().holdout): number {
  const raw = env.PERSONALIZATION_HOLDOUT?.trim();
  if (raw === 'off') return 0;
  const n = raw ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 && n <= MAX_HOLDOUT ? n : fileShare;
}

export interface Experience {
  /** The level whose content the visitor sees: their own, or the lowest when held out. */
  show: string;
  holdout: boolean;
}

/** What a visitor at `level` is shown. An unknown visitor (no id) is never held out: they see the default anyway. */
export async function experienceOf(env: Env, anonymousId: string | undefined, level: string): Promise<Experience> {
  const lowest = activeModel().types[0].tierIds[0];
  const holdout = !!anonymousId && (await heldOut(anonymousId, holdoutShare(env)));
  return { show: holdout ? lowest : level, holdout };
}

export interface Shown {
  slot: string;
  variant: string;
}

/** One `Experience Viewed` per slot a page showed, at `now`. */
export function exposureEvents(shown: readonly Shown[], experience: Experience & { level: string }, path: string, now: number): LeadEvent[] {
  return shown.map(({ slot, variant }) => ({
    messageId: storedMessageId(crypto.randomUUID(), 'secret'),
    type: 'track',
    event: EXPERIENCE_VIEWED,
    properties: { slot, variant, holdout: experience.holdout, level: experience.level, path },
    timestamp: now,
  }));
}

/** Stores the exposure with the visitor's lead (following a merge), as the Worker's own events: no rate limit of the visitor's spent. */
export async function recordExposure(env: Env, anonymousId: string, events: LeadEvent[], now: number): Promise<void> {
  if (!events.length) return;
  const key = anonKey(anonymousId);
  await leadStub(env, key).ingest({ key, events, aliases: [], receivedAt: now, source: 'secret' });
}

/**
 * The personalization holdout (SPEC "Model lifecycle and learning"): a share of visitors, chosen by a keyed hash
 * of their anonymous id (shared/holdout.ts), sees the default content (the lowest level's) whatever their level,
 * so the conversion of personalized visitors can be compared with a control group (worker/holdout-insights.ts).
 * The edge records what each page showed as `Experience Viewed {slot, variant, holdout, level, path}` events of
 * the Worker's own — once a day per slot and variant — which a site key cannot send (shared/events.ts
 * SERVER_EVENTS) and the engine does not score (a record of what was shown, not something the visitor did).
 * A browser is never told its group: a held-out visitor's own answers name the level they are shown.
 */
import type { LeadEvent } from '../shared/events.js';
import { EXPERIENCE_VIEWED, storedMessageId } from '../shared/events.js';
import { DEV_HOLDOUT_SECRET, heldOut } from '../shared/holdout.js';
import { DAY_MS } from '../shared/limits.js';
import type { Env } from './env.js';
import { anonKey } from './identity.js';
import { leadStub } from './lead/index.js';
import { activeModel } from './model.js';
import { MAX_HOLDOUT, siteConfig } from './site.js';

/** The key the groups are drawn with: HOLDOUT_SECRET, or locally (ENVIRONMENT=development) a development key; null: none. */
export function holdoutSecret(env: Pick<Env, 'HOLDOUT_SECRET' | 'ENVIRONMENT'>): string | null {
  if (env.HOLDOUT_SECRET) return env.HOLDOUT_SECRET;
  return env.ENVIRONMENT === 'development' ? DEV_HOLDOUT_SECRET : null;
}

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

/**
 * Whether this deployment runs a holdout: a share above 0 and a key to draw the groups with (without
 * HOLDOUT_SECRET a deployment holds nobody out, rather than with groups a stranger could predict).
 */
export function holdoutRunning(env: Env): boolean {
  return holdoutShare(env) > 0 && holdoutSecret(env) !== null;
}

/** What a visitor at `level` is shown. An unknown visitor (no id) is never held out: they see the default anyway. */
export async function experienceOf(env: Env, anonymousId: string | undefined, level: string): Promise<Experience> {
  const lowest = activeModel().types[0].tierIds[0];
  const secret = holdoutSecret(env);
  const holdout = !!anonymousId && secret !== null && (await heldOut(secret, anonymousId, holdoutShare(env)));
  return { show: holdout ? lowest : level, holdout };
}

export interface Shown {
  slot: string;
  variant: string;
}

/**
 * One `Experience Viewed` per slot a page showed, at `now`. Its id is the visitor's, the slot's, the variant's and
 * the day's, so reloading a page records nothing new: the lead keeps one record per slot, variant and day.
 */
export function exposureEvents(anonymousId: string, shown: readonly Shown[], experience: Experience & { level: string }, path: string, now: number): LeadEvent[] {
  const day = Math.floor(now / DAY_MS);
  return shown.map(({ slot, variant }) => ({
    messageId: storedMessageId(`experience:${anonymousId}:${slot}:${variant}:${day}`, 'secret'),
    type: 'track',
    event: EXPERIENCE_VIEWED,
    properties: { slot, variant, holdout: experience.holdout, level: experience.level, path },
    timestamp: now,
  }));
}

/** Stores the exposure with the visitor's lead (following a merge), as the Worker's own events. */
export async function recordExposure(env: Env, anonymousId: string, events: LeadEvent[], now: number): Promise<void> {
  if (!events.length) return;
  const key = anonKey(anonymousId);
  await leadStub(env, key).ingest({ key, events, aliases: [], receivedAt: now, source: 'secret' });
}

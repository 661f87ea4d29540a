/**
 * The site configuration (`leadlevel.site.json`): content variants per slot and level, the treatment protocol
 * of each level, and the origin the Worker stands in front of. Validated once per isolate.
 */
import configured from '../leadlevel.site.json';
import { formatProblems, type Problem } from '../shared/validate.js';
import { activeModel } from './model.js';

export interface Treatment {
  salesInvolvement: string;
  outreach: string;
  content: string;
  channels: string[];
  responseSla: { hours?: number; businessDays?: number } | null;
}

export interface SiteConfig {
  origin: string | null;
  /** slot → level id (or `default`) → HTML. */
  content: Record<string, Record<string, string>>;
  treatments: Record<string, Treatment>;
  /**
   * The share of visitors (0 to 0.5) kept on the default content, chosen by a stable hash of their anonymous id
   * (worker/experience.ts): the control group that measures whether level-based content converts. 0: none.
   */
  holdout: number;
}

/** A holdout larger than half would make the personalized group the control. */
export const MAX_HOLDOUT = 0.5;

export class SiteConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`invalid leadlevel.site.json: ${formatProblems(problems)}`);
  }
}

/** Every problem of a site file. `levels`: the model's level ids; without them (a broken model) levels go unchecked. */
export function validateSite(raw: unknown, levels?: string[]): Problem[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return [{ path: '(file)', reason: `must be a JSON object with origin, content and treatments (got ${JSON.stringify(raw)?.slice(0, 40)})` }];
  }
  const problems: Problem[] = [];
  const cfg = raw as Partial<SiteConfig>;
  const isMap = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
  if (!isMap(cfg.content)) problems.push({ path: 'content', reason: 'must be an object: slot → level → HTML' });
  if (!isMap(cfg.treatments)) problems.push({ path: 'treatments', reason: 'must be an object: level → treatment' });
  if (problems.length) return problems;
  if (cfg.holdout !== undefined && !(typeof cfg.holdout === 'number' && cfg.holdout >= 0 && cfg.holdout <= MAX_HOLDOUT)) {
    problems.push({ path: 'holdout', reason: `must be a share of visitors from 0 to ${MAX_HOLDOUT} (0.1 keeps one visitor in ten on the default content); got ${JSON.stringify(cfg.holdout)}` });
  }
  if (cfg.origin !== null && cfg.origin !== undefined) {
    try {
      if (!/^https?:$/.test(new URL(cfg.origin).protocol)) throw new Error();
    } catch {
      problems.push({ path: 'origin', reason: `"${cfg.origin}" is not an http(s) URL (or null for the bundled site)` });
    }
  }
  for (const [slot, variants] of Object.entries(cfg.content ?? {})) {
    if (!isMap(variants)) {
      problems.push({ path: `content.${slot}`, reason: 'must be an object: level (or default) → HTML' });
      continue;
    }
    for (const [level, html] of Object.entries(variants ?? {})) {
      if (levels && level !== 'default' && !levels.includes(level)) problems.push({ path: `content.${slot}.${level}`, reason: `no level "${level}" (levels: ${levels.join(', ')}, or default)` });
      if (typeof html !== 'string') problems.push({ path: `content.${slot}.${level}`, reason: 'must be a string of HTML' });
    }
  }
  for (const [level, t] of Object.entries(cfg.treatments ?? {})) {
    if (levels && !levels.includes(level)) problems.push({ path: `treatments.${level}`, reason: `no level "${level}" (levels: ${levels.join(', ')})` });
    if (!t || typeof t.salesInvolvement !== 'string' || !Array.isArray(t.channels)) problems.push({ path: `treatments.${level}`, reason: 'needs salesInvolvement, outreach, content, channels and responseSla' });
  }
  return problems;
}

let site: SiteConfig | undefined;
export function siteConfig(): SiteConfig {
  if (site) return site;
  const problems = validateSite(configured, activeModel().types[0].tierIds);
  if (problems.length) throw new SiteConfigError(problems);
  const { origin = null, content = {}, treatments = {}, holdout = 0 } = configured as Partial<SiteConfig>;
  return (site = { origin, content, treatments, holdout });
}

/** The variant each configured slot shows at a level: the level's own (named by the level), else the slot's `default`. */
export function variantsFor(level: string, cfg = siteConfig()): Record<string, { variant: string; html: string }> {
  const out: Record<string, { variant: string; html: string }> = {};
  for (const [slot, variants] of Object.entries(cfg.content)) {
    if (variants[level] !== undefined) out[slot] = { variant: level, html: variants[level] };
    else if (variants.default !== undefined) out[slot] = { variant: 'default', html: variants.default };
  }
  return out;
}

/** The HTML each configured slot shows at a level: its variant, else the slot's default, else nothing. */
export function contentFor(level: string, cfg = siteConfig()): Record<string, string> {
  return Object.fromEntries(Object.entries(variantsFor(level, cfg)).map(([slot, v]) => [slot, v.html]));
}

export const treatmentFor = (level: string, cfg = siteConfig()): Treatment | null => cfg.treatments[level] ?? null;

/** Compiles a rule's `match` into a predicate over events. */
import type { LeadEvent } from './events.js';
import type { Match, PropertyCondition } from './model.js';

export type Matcher = (e: LeadEvent, path: string | undefined) => boolean;

const list = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** `*` matches within one path segment, `**` across segments; `/docs/**` also matches `/docs`. */
export function pathPattern(pattern: string): RegExp {
  const p = pattern.toLowerCase().replace(/\/+$/, '') || '/';
  let src = '';
  let tail = '';
  let body = p;
  if (p.endsWith('/**')) {
    body = p.slice(0, -3);
    tail = '(?:/.*)?';
  }
  src = body
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${src}${tail}$`);
}

export function pathMatcher(patterns: string | string[] | undefined): ((path: string | undefined) => boolean) | undefined {
  const ps = list(patterns)?.map(pathPattern);
  if (!ps) return undefined;
  return (path) => path !== undefined && ps.some((re) => re.test(path));
}

function propertyTest(cond: PropertyCondition): (v: unknown) => boolean {
  if (Array.isArray(cond)) return (v) => cond.includes(v as never);
  if (typeof cond === 'object' && cond !== null) {
    const { gte, lte, exists } = cond;
    return (v) => {
      if (exists !== undefined && (v !== undefined && v !== null) !== exists) return false;
      if (gte !== undefined && !(typeof v === 'number' && v >= gte)) return false;
      if (lte !== undefined && !(typeof v === 'number' && v <= lte)) return false;
      return true;
    };
  }
  return (v) => v === cond;
}

export function compileMatch(m: Match): Matcher {
  const events = list(m.event);
  const type = m.type ?? (events ? 'track' : undefined);
  const eventSet = events && new Set(events);
  const path = pathMatcher(m.path);
  const kinds = list(m.formKind);
  const kindSet = kinds && new Set(kinds);
  const props = Object.entries(m.properties ?? {}).map(([k, c]) => [k, propertyTest(c)] as const);
  const minSeconds = m.minSeconds;
  return (e, p) => {
    if (type && e.type !== type) return false;
    if (eventSet && !eventSet.has(e.event ?? '')) return false;
    if (path && !path(p)) return false;
    if (kindSet && !kindSet.has(e.properties.kind as string)) return false;
    if (minSeconds !== undefined) {
      const s = e.properties.seconds;
      if (typeof s !== 'number' || s < minSeconds) return false;
    }
    for (const [k, test] of props) if (!test(e.properties[k])) return false;
    return true;
  };
}


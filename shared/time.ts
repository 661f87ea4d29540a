/**
 * Model days. Caps, windows and "days without activity" count calendar days: UTC unless the model names an
 * IANA time zone, in which case days start at that zone's local midnight (DST included).
 */
import { DAY_MS } from './limits.js';

export interface DayClock {
  /** The day number (days since 1970-01-01 in the model's zone) of an instant. */
  day(t: number): number;
  /** The first instant of a day number. */
  start(day: number): number;
}

export const UTC_DAYS: DayClock = {
  day: (t) => Math.floor(t / DAY_MS),
  start: (d) => d * DAY_MS,
};

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function dayClock(zone: string | undefined): DayClock {
  if (!zone || zone === 'UTC' || zone === 'Etc/UTC') return UTC_DAYS;
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  // Offsets change at most a few times a year; cache them per UTC hour so folding stays cheap.
  const cache = new Map<number, number>();
  const offset = (t: number): number => {
    const hour = Math.floor(t / 3_600_000);
    let off = cache.get(hour);
    if (off === undefined) {
      const parts: Record<string, number> = {};
      for (const p of fmt.formatToParts(hour * 3_600_000)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
      const local = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute);
      off = local - hour * 3_600_000;
      if (cache.size > 10_000) cache.clear();
      cache.set(hour, off);
    }
    return off;
  };
  return {
    day: (t) => Math.floor((t + offset(t)) / DAY_MS),
    start: (d) => {
      const guess = d * DAY_MS - offset(d * DAY_MS);
      return d * DAY_MS - offset(guess);
    },
  };
}

/**
 * Business-time arithmetic for response SLAs (SPEC, "Teams, routing and notifications"): when is a span of
 * elapsed hours, business hours or business days after an instant, for a team's working hours in its IANA
 * time zone. Pure; wall-clock times are turned into instants with Intl, so days that are 23 or 25 hours long
 * (daylight saving changes) come out right.
 *
 * A business day is one business day's worth of business time (end − start of the team's hours), so
 * "3 business days" from Friday 16:00 with 09:00–17:00 Monday to Friday is Wednesday 16:00, and from a
 * Saturday it is Wednesday 17:00 (the clock starts at Monday's opening). Holidays are not modelled.
 */

export interface BusinessHours {
  /** "HH:MM", local to the zone. */
  start: string;
  end: string;
  /** ISO weekdays: 1 Monday … 7 Sunday. */
  days: number[];
}

export type SlaSpan = { hours: number } | { businessHours: number } | { businessDays: number };

export const DEFAULT_BUSINESS_HOURS: BusinessHours = { start: '09:00', end: '17:00', days: [1, 2, 3, 4, 5] };

const HOUR_MS = 3_600_000;
export const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;
const minutesOf = (hhmm: string) => {
  const m = CLOCK.exec(hhmm);
  if (!m) throw new RangeError(`"${hhmm}" is not a time of day (HH:MM)`);
  return Number(m[1]) * 60 + Number(m[2]);
};

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock date and time at instant `t` in `zone`. */
export function wallClock(t: number, zone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute, second: parts.second };
}

/** How far `zone` is ahead of UTC at instant `t`, in ms. */
function offsetAt(t: number, zone: string): number {
  const w = wallClock(t, zone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(t / 1000) * 1000;
}

/**
 * The instant a wall-clock time (minutes after local midnight of a calendar date) happens in `zone`. A time
 * skipped by a spring-forward change is read with the offset from before the change (so 02:30 becomes 03:30);
 * a time that happens twice (fall back) is its first occurrence.
 */
export function instantOf(year: number, month: number, day: number, minutes: number, zone: string): number {
  const guess = Date.UTC(year, month - 1, day, 0, minutes);
  const first = guess - offsetAt(guess, zone);
  const second = guess - offsetAt(first, zone);
  if (first === second) return first;
  // The two offsets disagree: near a change. Prefer the earlier candidate that reads back as the wall time asked.
  const reads = (t: number) => offsetAt(t, zone) === guess - t;
  const fits = [first, second].filter(reads).sort((a, b) => a - b);
  return fits[0] ?? Math.max(first, second);
}

/** The instant `span` after `start`: elapsed hours, or business time in the team's hours and zone. */
export function slaDue(start: number, span: SlaSpan, hours: BusinessHours = DEFAULT_BUSINESS_HOURS, zone = 'UTC'): number {
  if ('hours' in span) return start + span.hours * HOUR_MS;
  const open = minutesOf(hours.start);
  const close = minutesOf(hours.end);
  if (close <= open) throw new RangeError('business hours must end after they start, on the same day');
  if (!hours.days.length) throw new RangeError('business hours need at least one weekday');
  const amount = 'businessHours' in span ? span.businessHours * HOUR_MS : span.businessDays * (close - open) * 60_000;
  return addBusinessTime(start, amount, open, close, new Set(hours.days), zone);
}

function addBusinessTime(start: number, amount: number, open: number, close: number, days: Set<number>, zone: string): number {
  let remaining = amount;
  const cursor = start;
  const w = wallClock(start, zone);
  // A calendar date, walked a day at a time; its weekday does not depend on the zone.
  let date = Date.UTC(w.year, w.month - 1, w.day);
  // Ten years of days is far beyond any SLA; the bound only keeps a mistaken span from looping for ever.
  for (let i = 0; i < 3660; i++) {
    const d = new Date(date);
    const weekday = d.getUTCDay() || 7;
    if (days.has(weekday)) {
      const [y, m, dd] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
      const from = Math.max(cursor, instantOf(y, m, dd, open, zone));
      const to = instantOf(y, m, dd, close, zone);
      if (from < to) {
        if (remaining <= to - from) return from + remaining;
        remaining -= to - from;
      }
    }
    // Every later local day opens after `start`, so the cursor only matters on the first.
    date += 86_400_000;
  }
  throw new RangeError('the SLA span does not end within ten years of business days');
}

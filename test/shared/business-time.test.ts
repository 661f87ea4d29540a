import { describe, expect, it } from 'vitest';
import { instantOf, slaDue, wallClock, type BusinessHours } from '../../shared/business-time.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
const NINE_TO_FIVE: BusinessHours = { start: '09:00', end: '17:00', days: [1, 2, 3, 4, 5] };
const NY = 'America/New_York';

describe('slaDue', () => {
  it('elapsed hours ignore business hours, weekends and zones', () => {
    // Saturday 10:00 in New York.
    expect(iso(slaDue(at('2026-03-07T15:00:00Z'), { hours: 4 }, NINE_TO_FIVE, NY))).toBe('2026-03-07T19:00:00.000Z');
    expect(iso(slaDue(at('2026-03-07T15:00:00Z'), { hours: 24 }, NINE_TO_FIVE, NY))).toBe('2026-03-08T15:00:00.000Z');
  });

  it('three business days from Friday 16:00 are Wednesday 16:00, across the spring-forward change', () => {
    // Friday 2026-03-06 16:00 EST (UTC-5); clocks go forward on Sunday 8 March; Wednesday 16:00 is EDT (UTC-4).
    expect(iso(slaDue(at('2026-03-06T21:00:00Z'), { businessDays: 3 }, NINE_TO_FIVE, NY))).toBe('2026-03-11T20:00:00.000Z');
  });

  it('a weekend start waits for Monday’s opening', () => {
    // Saturday: Monday 09:00 EDT + 24 business hours = Wednesday 17:00 EDT.
    expect(iso(slaDue(at('2026-03-07T15:00:00Z'), { businessDays: 3 }, NINE_TO_FIVE, NY))).toBe('2026-03-11T21:00:00.000Z');
    expect(iso(slaDue(at('2026-03-08T03:00:00Z'), { businessHours: 1 }, NINE_TO_FIVE, NY))).toBe('2026-03-09T14:00:00.000Z');
  });

  it('after hours the clock starts at the next opening; within hours it runs at once', () => {
    // Tuesday 20:00 EDT: Wednesday 09:00 + 4 h.
    expect(iso(slaDue(at('2026-03-11T00:00:00Z'), { businessHours: 4 }, NINE_TO_FIVE, NY))).toBe('2026-03-11T17:00:00.000Z');
    // Tuesday 07:00 EDT, before opening: Tuesday 09:00 + 2 h.
    expect(iso(slaDue(at('2026-03-10T11:00:00Z'), { businessHours: 2 }, NINE_TO_FIVE, NY))).toBe('2026-03-10T15:00:00.000Z');
    // Tuesday 10:00 EDT + 2 h.
    expect(iso(slaDue(at('2026-03-10T14:00:00Z'), { businessHours: 2 }, NINE_TO_FIVE, NY))).toBe('2026-03-10T16:00:00.000Z');
    // A whole day from the opening ends at that day's close, not the next morning.
    expect(iso(slaDue(at('2026-03-10T13:00:00Z'), { businessDays: 1 }, NINE_TO_FIVE, NY))).toBe('2026-03-10T21:00:00.000Z');
    // Friday 16:30 + 1 business hour: half an hour on Friday, half on Monday.
    expect(iso(slaDue(at('2026-03-13T20:30:00Z'), { businessHours: 1 }, NINE_TO_FIVE, NY))).toBe('2026-03-16T13:30:00.000Z');
  });

  it('the team’s zone decides: one instant, two teams, two due times', () => {
    // Friday 2026-06-05 14:00 UTC is 16:00 in Berlin (CEST) and 23:00 in Tokyo.
    const t = at('2026-06-05T14:00:00Z');
    expect(iso(slaDue(t, { businessDays: 1 }, NINE_TO_FIVE, 'Europe/Berlin'))).toBe('2026-06-08T14:00:00.000Z');
    expect(iso(slaDue(t, { businessDays: 1 }, NINE_TO_FIVE, 'Asia/Tokyo'))).toBe('2026-06-08T08:00:00.000Z');
    expect(iso(slaDue(t, { businessDays: 1 }, NINE_TO_FIVE, 'UTC'))).toBe('2026-06-08T14:00:00.000Z');
  });

  it('the fall-back change (a 25-hour Sunday) and other working weeks', () => {
    // Friday 2026-10-23 16:00 CEST; Europe falls back on Sunday 25 October; Monday 16:00 is CET (UTC+1).
    expect(iso(slaDue(at('2026-10-23T14:00:00Z'), { businessDays: 1 }, NINE_TO_FIVE, 'Europe/Berlin'))).toBe('2026-10-26T15:00:00.000Z');
    // Sunday to Thursday, 08:00–16:00 in Dubai (UTC+4): Thursday 15:00 + 2 business hours is Sunday 09:00.
    const week: BusinessHours = { start: '08:00', end: '16:00', days: [7, 1, 2, 3, 4] };
    expect(iso(slaDue(at('2026-06-04T11:00:00Z'), { businessHours: 2 }, week, 'Asia/Dubai'))).toBe('2026-06-07T05:00:00.000Z');
  });

  it('refuses hours that end before they start', () => {
    expect(() => slaDue(0, { businessDays: 1 }, { start: '17:00', end: '09:00', days: [1] }, 'UTC')).toThrow(RangeError);
  });
});

describe('instantOf', () => {
  it('reads local times through daylight saving changes', () => {
    expect(iso(instantOf(2026, 3, 6, 16 * 60, NY))).toBe('2026-03-06T21:00:00.000Z');
    expect(iso(instantOf(2026, 3, 9, 9 * 60, NY))).toBe('2026-03-09T13:00:00.000Z');
    // 02:30 on 8 March does not happen in New York: read as 03:30 EDT.
    expect(iso(instantOf(2026, 3, 8, 150, NY))).toBe('2026-03-08T07:30:00.000Z');
    // 01:30 on 1 November happens twice: the first.
    expect(iso(instantOf(2026, 11, 1, 90, NY))).toBe('2026-11-01T05:30:00.000Z');
    expect(wallClock(at('2026-11-01T06:30:00Z'), NY)).toMatchObject({ day: 1, hour: 1, minute: 30 });
  });
});

/** Builders for engine tests: readable event streams on a fixed calendar. */
import type { JsonObject, LeadEvent } from '../../shared/events.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MIN = 60_000;
/** Monday 2026-03-02 00:00 UTC: day 0 of the test calendar. */
export const T0 = Date.UTC(2026, 2, 2);
export const at = (days: number, hours = 9, minutes = 0) => T0 + days * DAY + hours * HOUR + minutes * MIN;

let seq = 0;
const nextId = () => `m${String(++seq).padStart(6, '0')}`;

export const page = (t: number, path: string, id = nextId()): LeadEvent => ({ messageId: id, type: 'page', properties: { path }, timestamp: t });
export const track = (t: number, event: string, properties: JsonObject = {}, id = nextId()): LeadEvent => ({
  messageId: id,
  type: 'track',
  event,
  properties,
  timestamp: t,
});
export const form = (t: number, kind: string, id?: string) => track(t, 'Form Submitted', { form: kind, kind }, id);
export const dwell = (t: number, seconds: number, path = '/pricing', id?: string) => track(t, 'Page Engaged', { path, seconds }, id);

/**
 * The incremental form equals full recomputation, whatever the arrival order, duplicates and late events;
 * and every ledger adds up to its scores.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../shared/compile.js';
import { cloneState, compareEvents, rebaseState } from '../../shared/engine.js';
import type { LeadEvent } from '../../shared/events.js';
import { b2bDefault } from '../../shared/models/b2b-default.js';
import { b2bThreeTier } from '../../shared/models/b2b-three-tier.js';
import { score } from '../../shared/score.js';
import { MemoryLog, Scorer } from '../../shared/scorer.js';
import { DAY, HOUR, MIN, T0, dwell, form, page, track } from '../helpers/events.js';
import { capsModel } from '../helpers/models.js';

const models = [compileModel(b2bDefault), compileModel(b2bThreeTier), compileModel(capsModel)];

const PATHS = ['/', '/pricing', '/pricing/teams', '/docs', '/docs/api', '/compare/x', '/blog/a', '/features'];
const KINDS = ['demo_request', 'contact_sales', 'content_download', 'case_study_download', 'webinar_signup', 'newsletter'];

/** One random event somewhere in 45 days, clustered into visits so sessions and caps get exercised. */
const eventArb = fc
  .tuple(fc.integer({ min: 0, max: 44 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 7 }))
  .map(([d, h, m, kind, pick]): Omit<LeadEvent, 'messageId'> => {
    const t = T0 + d * DAY + h * HOUR + m * MIN;
    const base = (() => {
      switch (kind) {
        case 0: case 1: case 2: case 3: return page(t, PATHS[pick]);
        case 4: return form(t, KINDS[pick % KINDS.length]);
        case 5: return dwell(t, pick * 40);
        case 6: return track(t, 'Email Opened');
        case 7: return track(t, 'Email Link Clicked');
        case 8: return track(t, 'Webinar Attended');
        case 9: return track(t, 'ROI Calculator Completed');
        case 10: return track(t, 'Signal');
        case 11: return pick === 0 ? track(t, 'Unsubscribed') : track(t, 'Email Bounced', { type: pick === 1 ? 'hard' : 'soft' });
        default: return page(t, PATHS[(pick + 3) % PATHS.length]);
      }
    })();
    const { messageId: _, ...rest } = base;
    return rest;
  });

const streamArb = fc
  .array(fc.tuple(eventArb, fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 10 * 24 * 60 }))), { minLength: 1, maxLength: 150 })
  .chain((evs) => fc.tuple(fc.constant(evs), fc.array(fc.nat(), { maxLength: 15 }), fc.integer({ min: 0, max: 120 })))
  .map(([evs, dups, nowDays]) => {
    // Arrival: each event reaches the collector after a delay: most at once, some up to 10 days late
    // (an offline queue, a CRM sync), and some twice (retries).
    const events = evs.map(([e, delayMin], i) => ({ e: { ...e, messageId: `e${String(i).padStart(4, '0')}` } as LeadEvent, arrives: e.timestamp + delayMin * MIN }));
    const arrival = events.sort((a, b) => a.arrives - b.arrives).map((x) => x.e);
    for (const d of dups) arrival.splice(d % (arrival.length + 1), 0, { ...arrival[d % arrival.length] });
    const last = Math.max(...arrival.map((e) => e.timestamp));
    return { arrival, now: last + nowDays * DAY };
  });

const strip = ({ ledger: _l, history: _h, ...rest }: ReturnType<typeof score>['types'][number]) => rest;

describe('Scorer (incremental) equals score (full recomputation)', () => {
  it.each(models.map((m) => [m.id, m] as const))('%s: random streams, late events and retries', (_, model) => {
    fc.assert(
      fc.property(streamArb, ({ arrival, now }) => {
        const full = score(model, arrival, now);
        // Without marks, and with a mark before every event after a day's first (so late events rewind to marks and rejoin at them).
        for (const markEvery of [0, 1]) {
          const scorer = new Scorer(model, new MemoryLog(), undefined, { dailyCheckpoints: 3, sparseEveryDays: 5, markEvery });
          let dup = 0;
          for (let i = 0; i < arrival.length; ) {
            // Batches of 1 to 4 events, as a collector receives them.
            const n = 1 + (i % 4);
            dup += scorer.addMany(arrival.slice(i, i + n)).duplicates.length;
            i += n;
          }
          expect(dup).toBe(full.duplicates);
          expect(scorer.evaluate(now), `markEvery ${markEvery}`).toEqual(full.types.map(strip));
          expect(JSON.stringify(scorer.state), `markEvery ${markEvery}`).toBe(JSON.stringify(full.state));
        }
        for (const t of full.types) {
          const lead = t.ledger.filter((x) => x.kind !== 'clamp' || x.score === 'lead').reduce((s, x) => s + x.points, 0);
          const eng = t.ledger.filter((x) => (x.kind === 'rule' && x.inWindow) || (x.kind === 'clamp' && x.score === 'engagement')).reduce((s, x) => s + x.points, 0);
          expect(lead).toBe(t.leadScore);
          expect(eng).toBe(t.engagementScore);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a late event rewinds only to the checkpoint before it', () => {
    const model = models[0];
    const scorer = new Scorer(model, new MemoryLog());
    for (let d = 0; d < 30; d++) scorer.add(page(T0 + d * DAY + 9 * HOUR, '/blog/' + d));
    const r = scorer.add(page(T0 + 28 * DAY + 10 * HOUR, '/pricing'));
    expect(r.refolded).toBe(2); // from the checkpoint at day 28's start: day 28's page and day 29's
    const early = scorer.add(form(T0 + 5 * HOUR, 'demo_request'));
    expect(early.refolded).toBe(31); // no checkpoint before day 0: everything
    expect(early.changes.some((c) => c.to === 'very_hot')).toBe(true);
    expect(early.ledgers.get(early.added[0])?.[0]).toMatchObject({ rule: 'demo_request', points: 20 });
  });

  it('a late event that changes nothing after its own day refolds that day only, and ends where a full recomputation ends', () => {
    const model = models[0];
    const events = Array.from({ length: 10 * 8 }, (_, i) => page(T0 + Math.floor(i / 8) * DAY + (9 + (i % 8)) * HOUR, '/features'));
    const scorer = new Scorer(model, new MemoryLog());
    for (const e of events) scorer.add(e);
    // "Other page" gives +1, 5 a day: a ninth view in the afternoon of day 4 earns nothing and moves nothing after it.
    const late = page(T0 + 4 * DAY + 14 * HOUR + 30 * MIN, '/features');
    const laterBefore = scorer.checkpoints.filter((c) => c.day > model.days.day(late.timestamp)).map((c) => c.state);
    const r = scorer.add(late);
    expect(r.refolded).toBe(8); // day 4's views, from the checkpoint at its start; days 5 to 9 stand
    // The checkpoints after that day are the old ones, untouched: the store has nothing to rewrite for them.
    const laterAfter = scorer.checkpoints.filter((c) => c.day > model.days.day(late.timestamp)).map((c) => c.state);
    expect(laterAfter).toHaveLength(laterBefore.length);
    laterAfter.forEach((s, i) => expect(s).toBe(laterBefore[i]));
    expect(r.rejoinedAt).toBe(T0 + 4 * DAY + 16 * HOUR);
    const full = new Scorer(model, new MemoryLog());
    full.addMany([...events, late]);
    expect(JSON.stringify(scorer.state)).toBe(JSON.stringify(full.state));
    for (const c of scorer.checkpoints) expect(JSON.stringify(c.state), `day ${c.day}`).toBe(JSON.stringify(full.checkpoints.find((f) => f.day === c.day)?.state));
    // One that earns points changes every day after it: the whole stretch is refolded.
    const earning = scorer.add(form(T0 + 4 * DAY + 17 * HOUR, 'content_download'));
    expect(earning.rejoinedAt).toBeNull();
    expect(earning.refolded).toBe(9 + 5 * 8);
  });

  it('on a busy day a late event rewinds to the mark before it and rejoins at the next one: tens of events, not the day', () => {
    const model = models[0];
    // 300 page views a day for 4 days ("Other page" pays 5 a day: the rest earn nothing).
    const events = Array.from({ length: 4 * 300 }, (_, i) => page(T0 + Math.floor(i / 300) * DAY + 6 * HOUR + (i % 300) * 2 * MIN, '/features'));
    const scorer = new Scorer(model, new MemoryLog());
    for (let i = 0; i < events.length; i += 50) scorer.addMany(events.slice(i, i + 50));
    expect(scorer.marks.length).toBeGreaterThanOrEqual(4 * 4);
    // Every mark is exactly the state a full fold has after the event at its clock.
    const check = new Scorer(model, new MemoryLog(), undefined, { markEvery: 0 });
    for (const m of scorer.marks.slice(0, 3)) {
      check.rebuild(events.filter((e) => e.timestamp <= m.clock));
      expect(JSON.stringify(check.state)).toBe(JSON.stringify(m));
    }
    const late = page(T0 + 1 * DAY + 6 * HOUR + 301 * MIN, '/features');
    const r = scorer.add(late);
    expect(r.refolded).toBeLessThanOrEqual(64);
    expect(r.rejoinedAt).not.toBeNull();
    expect(model.days.day(r.rejoinedAt!)).toBe(model.days.day(late.timestamp));
    const full = new Scorer(model, new MemoryLog());
    full.addMany([...events, late]);
    expect(JSON.stringify(scorer.state)).toBe(JSON.stringify(full.state));
    expect(scorer.checkpoints.map((c) => JSON.stringify(c))).toEqual(full.checkpoints.map((c) => JSON.stringify(c)));
    // One that earns points changes everything after it: the refold runs to the end, past every mark.
    const download = form(T0 + 1 * DAY + 6 * HOUR + 303 * MIN, 'content_download');
    const earning = scorer.add(download);
    expect(earning.rejoinedAt).toBeNull();
    const again = new Scorer(model, new MemoryLog());
    again.addMany([...events, late, download]);
    expect(scorer.evaluate(T0 + 5 * DAY)).toEqual(again.evaluate(T0 + 5 * DAY));
  });

  it('checkpoints are thinned: the size of a scorer stays bounded by days, not events', () => {
    const scorer = new Scorer(models[0], new MemoryLog(), undefined, { dailyCheckpoints: 8, sparseEveryDays: 7 });
    for (let i = 0; i < 5000; i++) scorer.add(page(T0 + i * 30 * MIN, '/p' + (i % 40)));
    const stateBytes = JSON.stringify(scorer.state).length;
    for (let i = 5000; i < 10000; i++) scorer.add(page(T0 + i * 30 * MIN, '/p' + (i % 40)));
    expect(JSON.stringify(scorer.state).length).toBeLessThan(stateBytes * 1.2);
    expect(scorer.checkpoints.filter((c) => c.day > scorer.model.days.day(scorer.state.clock) - 8)).toHaveLength(8);
    expect(scorer.checkpoints.length).toBeLessThan(8 + 210 / 7 + 2);
  });
});

describe('across compaction and model changes, the incremental form still equals recomputation from the base', () => {
  /** Random streams fed in arrival order, then cut at a random checkpoint as compaction cuts. */
  const cutArb = fc.tuple(streamArb, streamArb, fc.nat());

  it.each(models.map((m) => [m.id, m] as const))('%s: events after a compaction cut, and a model change after it', (_, model) => {
    const other = models.find((m) => m !== model)!;
    fc.assert(
      fc.property(cutArb, ([first, second, pick]) => {
        const scorer = new Scorer(model, new MemoryLog(), undefined, { dailyCheckpoints: 3, sparseEveryDays: 5 });
        scorer.addMany(first.arrival);
        if (!scorer.checkpoints.length) return;
        // Compaction: raw history before a checkpoint goes; that checkpoint's state is the base from then on.
        const cut = scorer.checkpoints[pick % scorer.checkpoints.length];
        const cutAt = model.days.start(cut.day);
        scorer.dropCheckpointsBefore(cut.day);
        const kept = [...new Map(first.arrival.filter((e) => e.timestamp >= cutAt).map((e) => [e.messageId, e])).values()];
        // Later arrivals, late ones included, but none before the cut (those are archived, not scored).
        const later = second.arrival.filter((e) => e.timestamp >= cutAt).map((e) => ({ ...e, messageId: `late-${e.messageId}` }));
        for (let i = 0; i < later.length; i += 3) scorer.addMany(later.slice(i, i + 3));
        const now = Math.max(first.now, second.now);
        const all = [...kept, ...new Map(later.map((e) => [e.messageId, e])).values()];
        const fromBase = new Scorer(model, new MemoryLog(), { state: cloneState(cut.state), checkpoints: [], base: cloneState(cut.state) });
        fromBase.rebuild([...all].sort(compareEvents), cut.state);
        expect(scorer.evaluate(now), 'after the cut').toEqual(fromBase.evaluate(now));

        // A model change after the compaction: rescoring from the rebased base (what the lead object's
        // migration does) and then adding more events incrementally equals rebuilding with all of them.
        const base = rebaseState(other, scorer.base);
        // The log holds the stored history (as the lead's events table does), so a later rewind can read it back.
        const log = new MemoryLog();
        for (const e of all) log.add(e);
        const migrated = new Scorer(other, log, undefined, { dailyCheckpoints: 3, sparseEveryDays: 5 });
        migrated.rebuild([...all].sort(compareEvents), base);
        const more = later.slice(0, 5).map((e) => ({ ...e, messageId: `after-${e.messageId}` }));
        migrated.addMany(more);
        const rebuilt = new Scorer(other, new MemoryLog());
        rebuilt.rebuild([...all, ...new Map(more.map((e) => [e.messageId, e])).values()].sort(compareEvents), base);
        expect(migrated.evaluate(now), 'after the model change').toEqual(rebuilt.evaluate(now));
      }),
      { numRuns: 60 },
    );
  });
});

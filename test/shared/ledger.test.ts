/**
 * The complete ledger (shared/ledger.ts): at any instant its entries add up to both scores of every scoring
 * type — rule points, caps, window expiry, penalties, absence rules, held and released machine events, the clamp.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileModel, type CompiledModel } from '../../shared/compile.js';
import { cloneState, compareEvents, initState, isInOrder, rebaseState, type LeadState } from '../../shared/engine.js';
import type { LeadEvent } from '../../shared/events.js';
import { holdsOf, isHuman } from '../../shared/holding.js';
import { engagementPart, leadPart, ledgerOf, newestEntries, type LedgerEvent, type LedgerItem } from '../../shared/ledger.js';
import { b2bDefault } from '../../shared/models/b2b-default.js';
import { b2bThreeTier } from '../../shared/models/b2b-three-tier.js';
import { MemoryLog, Scorer } from '../../shared/scorer.js';
import { DAY, MIN, T0, at, dwell, form, page, track } from '../helpers/events.js';
import { capsModel } from '../helpers/models.js';

const models = [compileModel(b2bDefault), compileModel(b2bThreeTier), compileModel(capsModel)];
const [defaultModel] = models;

const PATHS = ['/', '/pricing', '/pricing/teams', '/docs', '/compare/x', '/blog/a', '/features'];
const KINDS = ['demo_request', 'contact_sales', 'content_download', 'webinar_signup', 'newsletter'];
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/**
 * One visit: a few events close together, somewhere in 200 days. Some are a mail scanner's (a click burst, an
 * open two seconds after delivery, a crawler's page view), some take points away (enough unsubscribes hit the
 * clamp); long gaps between visits trigger penalties, absence rules and expiries.
 */
const visitArb = fc
  .tuple(fc.integer({ min: 0, max: 199 }), fc.integer({ min: 0, max: 23 * 60 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 4 }))
  .map(([d, m, kind, pick, n]): Omit<LeadEvent, 'messageId'>[] => {
    const t = T0 + d * DAY + m * MIN;
    const msg = { providerMessageId: `pm-${d}-${m}` };
    const one = (k: number, x: number): LeadEvent[] => {
      const s = t + x * 7 * MIN;
      switch (k) {
        case 0: case 1: case 2: return [page(s, PATHS[(pick + x) % PATHS.length])];
        case 3: return [form(s, KINDS[pick % KINDS.length])];
        case 4: return [dwell(s, pick * 45)];
        case 5: return [track(s, 'Email Opened')];
        case 6: return [track(s, 'Email Link Clicked')];
        case 7: return [track(s, 'Webinar Attended')];
        case 8: case 9: return [track(s, 'Unsubscribed')];
        case 10: return [track(s, 'Signal')];
        // A scanner following every link of a message within a second.
        case 11: return [0, 300, 600].map((ms) => track(s + ms, 'Email Link Clicked', { url: `https://x.test/${ms}` }));
        // A scanner opening a message as it lands.
        case 12: return [track(s, 'Email Delivered', msg), track(s + 2000, 'Email Opened', msg)];
        default: return [{ ...page(s, '/pricing'), properties: { path: '/pricing', userAgent: BOT } }];
      }
    };
    return Array.from({ length: n }, (_, x) => one(x === 0 ? kind : (kind + x * 5) % 14, x)).flat().map(({ messageId: _, ...rest }) => rest);
  });

const historyArb = fc
  .array(fc.tuple(visitArb, fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 9 * 24 * 60 }))), { minLength: 1, maxLength: 40 })
  .chain((visits) => fc.tuple(fc.constant(visits), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 })))
  .map(([visits, nows]) => {
    let i = 0;
    // Arrival order: most at once, some days late (an offline queue, a CRM sync).
    const events = visits
      .flatMap(([evs, delayMin]) => evs.map((e) => ({ e: { ...e, messageId: `e${String(i++).padStart(4, '0')}` } as LeadEvent, arrives: e.timestamp + delayMin * MIN })))
      .sort((a, b) => a.arrives - b.arrives)
      .map((x) => x.e);
    const first = Math.min(...events.map((e) => e.timestamp));
    const last = Math.max(...events.map((e) => e.timestamp));
    // Instants anywhere from the first event to 150 days after the last, not only at the end.
    return { events, nows: nows.map((f) => Math.round(first + f * (last + 150 * DAY - first))) };
  });

/** The lead as the object knows it at `now`: what is held, when a person released it, and the incremental scorer. */
function leadAt(model: CompiledModel, arrival: readonly LeadEvent[], now: number) {
  const known = arrival.filter((e) => e.timestamp <= now);
  const holds = holdsOf(model.holding, known);
  const sorted = [...known].sort(compareEvents);
  const humans = sorted.filter((e) => isHuman(model.holding, e, holds.get(e.messageId))).map((e) => e.timestamp);
  const stream: LedgerEvent[] = sorted.map((e) => {
    const h = holds.get(e.messageId);
    return h ? { ...e, held: { reason: h.reason, releasedAt: h.released ? humans.find((x) => x >= e.timestamp)! : null } } : e;
  });
  const scorer = new Scorer(model, new MemoryLog(), undefined, { dailyCheckpoints: 3, sparseEveryDays: 5 });
  const scored = new Set(stream.filter((e) => !e.held || e.held.releasedAt !== null).map((e) => e.messageId));
  for (let i = 0; i < known.length; i += 3) scorer.addMany(known.slice(i, i + 3).filter((e) => scored.has(e.messageId)));
  return { stream, scorer };
}

const sums = (entries: LedgerItem[], type: string) => {
  const mine = entries.filter((x) => x.scoringType === type);
  return { leadScore: mine.reduce((s, x) => s + leadPart(x), 0), engagementScore: mine.reduce((s, x) => s + engagementPart(x), 0) };
};

function expectAddsUp(model: CompiledModel, start: LeadState, stream: LedgerEvent[], now: number, scorer: Scorer) {
  const { entries, results } = ledgerOf(model, start, stream.filter((e) => isInOrder(start, e)), now);
  expect(results).toEqual(scorer.evaluate(now));
  for (const x of entries) expect(x.at).toBeLessThanOrEqual(now);
  for (const r of results) expect(sums(entries, r.scoringType), r.scoringType).toEqual({ leadScore: r.leadScore, engagementScore: r.engagementScore });
  return entries;
}

describe('the ledger adds up to both scores at any instant', () => {
  it.each(models.map((m) => [m.id, m] as const))('%s: random histories with late events, idle gaps, scanners and unsubscribes', (_, model) => {
    fc.assert(
      fc.property(historyArb, fc.nat(), ({ events, nows }, pick) => {
        for (const now of nows) {
          const { stream, scorer } = leadAt(model, events, now);
          // From the lead's first event, and from a checkpoint (what a read refolds from): the opening balance,
          // then every entry after it.
          expectAddsUp(model, initState(model), stream, now, scorer);
          if (!scorer.checkpoints.length) continue;
          const cp = scorer.checkpoints[pick % scorer.checkpoints.length].state;
          expectAddsUp(model, cloneState(cp), stream, now, scorer);
          // A base carried over a model change after compaction (rebaseState): the window starts empty, the
          // all-time points are the opening balance.
          const base = rebaseState(model, cp);
          const rebased = new Scorer(model, new MemoryLog(), { state: cloneState(base), checkpoints: [], base });
          rebased.rebuild(stream.filter((e) => isInOrder(base, e) && (!e.held || e.held.releasedAt !== null)), base);
          expectAddsUp(model, base, stream, now, rebased);
        }
      }),
      { numRuns: 120 },
    );
  });
});

describe('each kind of entry, with its points', () => {
  const kinds = (entries: LedgerItem[], ...k: LedgerItem['kind'][]) => entries.filter((x) => x.scoringType === 'engagement' && k.includes(x.kind));
  const read = (events: LedgerEvent[], now: number, model = defaultModel) => ledgerOf(model, initState(model), [...events].sort(compareEvents), now);

  it('rule: what the rule gave, counting toward both scores', () => {
    const { entries } = read([page(at(0), '/pricing')], at(1));
    expect(kinds(entries, 'rule')).toEqual([
      expect.objectContaining({ kind: 'rule', rule: 'pricing_visit', points: 10, base: 10, counts: 'both', inWindow: true, reason: 'Pricing visit: +10' }),
    ]);
  });

  it('rule: an event whose time was clamped says so', () => {
    const e = { ...page(at(0), '/pricing'), timeNote: 'timestamp 2026-01-01T00:00:00.000Z is older than 7 days; a site key may not backfill, clamped' };
    const [entry] = kinds(read([e], at(1)).entries, 'rule');
    expect(entry).toMatchObject({ points: 10, timeNote: e.timeNote, reason: `Pricing visit: +10 (${e.timeNote})` });
  });

  it('cap: what a capped rule actually gave, and that the cap held the rest', () => {
    const views = Array.from({ length: 6 }, (_, i) => page(at(0, 9, i), '/features'));
    const { entries, results } = read(views, at(0, 12));
    const capped = kinds(entries, 'cap');
    expect(capped).toEqual([expect.objectContaining({ points: 0, base: 1, clippedBy: 'perDay', counts: 'both' })]);
    expect(capped[0].reason).toBe('Other page: +0 of +1, its cap of 5 a day held back 1');
    expect(results[0].engagementScore).toBe(5);
  });

  it('expiry: points leaving the window are a negative entry at the instant they leave', () => {
    const e = form(at(2), 'content_download');
    expect(kinds(read([e], at(31, 23)).entries, 'expiry')).toEqual([]);
    // 01:00 on day 32: the window no longer holds day 2, and the 30-day penalty (09:00) is not due yet.
    const { entries, results } = read([e], at(32, 1));
    expect(kinds(entries, 'expiry')).toEqual([expect.objectContaining({ points: -8, counts: 'engagement', at: T0 + 32 * DAY })]);
    expect(kinds(entries, 'expiry')[0].reason).toBe('Points earned on 2026-03-04 (+8) left the 30-day window: engagement score only');
    expect([results[0].engagementScore, results[0].leadScore]).toEqual([0, 8]);
  });

  it('penalty: inactivity costs lead-score points when it falls due, with no event after it', () => {
    const { entries } = read([form(at(0), 'content_download'), form(at(0, 10), 'webinar_signup')], at(61));
    const penalties = kinds(entries, 'penalty');
    expect(penalties.map((x) => [x.points, x.counts, x.at])).toEqual([
      [-10, 'lead', at(0, 10) + 30 * DAY],
      [-10, 'lead', at(0, 10) + 60 * DAY],
    ]);
    expect(penalties[0].reason).toBe('30 days without activity: −10 (lead score only)');
  });

  it('absence: a rule for something that stopped happening', () => {
    const model = models[2];
    const { entries } = ledgerOf(model, initState(model), [track(at(0), 'Email Opened'), track(at(1), 'Signal')], at(25));
    const absence = entries.filter((x) => x.kind === 'absence');
    expect(absence).toEqual([expect.objectContaining({ scoringType: 'partners', rule: 'no_opens', points: -4, counts: 'lead', at: at(0) + 20 * DAY })]);
  });

  it('held and release: a scanner click earns nothing while held, and its points once a person releases it', () => {
    const clicks = [0, 200, 400].map((ms) => track(at(0) + ms, 'Email Link Clicked'));
    const held = clicks.map((e) => ({ ...e, held: { reason: 'likely a scanner: clicked 3 links within 1 s', releasedAt: null } }));
    const before = read(held, at(1));
    expect(kinds(before.entries, 'held').map((x) => [x.points, x.reason])).toEqual(Array(3).fill([0, 'held: likely a scanner: clicked 3 links within 1 s; 0 points while held']));
    expect(before.results[0].engagementScore).toBe(0);
    const released = held.map((e) => ({ ...e, held: { ...e.held, releasedAt: at(2) } }));
    const after = read([...released, page(at(2), '/blog/a')], at(3));
    expect(kinds(after.entries, 'release').map((x) => [x.points, x.at])).toEqual(Array(3).fill([0, at(2)]));
    // Released, each click is scored at its own time: +5, 3 a day.
    expect(kinds(after.entries, 'rule').filter((x) => x.rule === 'email_click').map((x) => [x.points, x.at])).toEqual(clicks.map((e) => [5, e.timestamp]));
    expect(after.results[0].engagementScore).toBe(16);
  });

  it('clamp: the points the clamp at 0 absorbs, for each score', () => {
    const { entries, results } = read([page(at(0), '/pricing'), track(at(0, 10), 'Unsubscribed')], at(1));
    expect(kinds(entries, 'clamp').map((x) => [x.counts, x.points])).toEqual([
      ['lead', 40],
      ['engagement', 40],
    ]);
    expect(kinds(entries, 'clamp')[0].reason).toBe('The lead score does not go below 0: the entries add up to −40, the clamp absorbs +40');
    expect([results[0].leadScore, results[0].engagementScore]).toEqual([0, 0]);
  });

  it('opening: a stretch read from a checkpoint starts from its balance', () => {
    const scorer = new Scorer(defaultModel, new MemoryLog());
    const events = [form(at(0), 'content_download'), page(at(40), '/pricing'), page(at(41), '/')];
    scorer.addMany(events);
    const cp = scorer.checkpoints.find((c) => c.day === defaultModel.days.day(at(41)))!;
    const { entries } = ledgerOf(defaultModel, cp.state, [events[2]], at(42));
    expect(kinds(entries, 'opening').map((x) => [x.counts, x.points])).toEqual([
      ['both', 10],
      ['lead', -2],
    ]);
    expect(sums(entries, 'engagement')).toEqual({ leadScore: 10, engagementScore: 12 });
  });

  it('a long ledger shown as its newest entries keeps its sums: the older ones become a balance', () => {
    const events = Array.from({ length: 120 }, (_, i) => (i % 7 === 6 ? track(at(i), 'Unsubscribed') : form(at(i), 'content_download')));
    const { entries } = read(events, at(130));
    const mine = entries.filter((x) => x.scoringType === 'engagement');
    const shown = newestEntries(mine, 20);
    expect(shown).toHaveLength(20);
    expect(shown.slice(0, 2).map((x) => [x.kind, x.counts])).toEqual([
      ['opening', 'both'],
      ['opening', 'lead'],
    ]);
    expect(shown.slice(2)).toEqual(mine.slice(-18));
    expect(sums(shown, 'engagement')).toEqual(sums(mine, 'engagement'));
    expect(newestEntries(mine, mine.length)).toBe(mine);
  });
});

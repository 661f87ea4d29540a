/**
 * Engine benchmarks: folding throughput, and the cost of folding into a long history relative to a short one
 * (goal ≤ 1.2×), measured side by side in one run.
 */
import { compileModel } from '../shared/compile.js';
import { cloneState, fold, initState, type LeadState } from '../shared/engine.js';
import type { LeadEvent } from '../shared/events.js';
import { ledgerOf } from '../shared/ledger.js';
import { b2bDefault } from '../shared/models/b2b-default.js';
import { median, report } from './report.js';

const model = compileModel(b2bDefault);
const PATHS = ['/', '/pricing', '/features', '/docs/api', '/blog/launch', '/compare/hubspot', '/customers/acme'];

/** A realistic mix: mostly page views, some dwell reports, email events and forms. */
function makeEvent(i: number, t: number): LeadEvent {
  const id = `b${i.toString(36).padStart(8, '0')}`;
  switch (i % 10) {
    case 7:
      return { messageId: id, type: 'track', event: 'Page Engaged', properties: { path: '/pricing', seconds: (i % 20) * 15 }, timestamp: t };
    case 8:
      return { messageId: id, type: 'track', event: i % 3 ? 'Email Opened' : 'Email Link Clicked', properties: {}, timestamp: t };
    case 9:
      return { messageId: id, type: 'track', event: 'Form Submitted', properties: { kind: i % 20 === 9 ? 'content_download' : 'newsletter' }, timestamp: t };
    default:
      return { messageId: id, type: 'page', properties: { path: PATHS[i % PATHS.length] }, timestamp: t };
  }
}

const START = Date.UTC(2026, 0, 1);

function build(n: number, spacingMs: number): LeadState {
  const s = initState(model);
  for (let i = 0; i < n; i++) fold(model, s, makeEvent(i, START + i * spacingMs));
  return s;
}

// 1. Throughput: 100,000 events, one every 40 s (about 46 days of a very busy lead).
const N = 100_000;
const events = Array.from({ length: N }, (_, i) => makeEvent(i, START + i * 40_000));
const rates: number[] = [];
for (let r = 0; r < 5; r++) {
  const s = initState(model);
  const t0 = performance.now();
  for (const e of events) fold(model, s, e);
  rates.push(N / ((performance.now() - t0) / 1000));
}

// 2. Fold cost into a 100,000-event state versus a 10-event state: the same new events, alternating.
const small = build(10, 40_000);
const large = build(N, 40_000);
const K = 5_000;
const next = (s: LeadState) => Array.from({ length: K }, (_, i) => makeEvent(N + i, s.clock + 86_400_000 + i * 20_000));
const smallNext = next(small);
const largeNext = next(large);
const timeFold = (base: LeadState, evs: LeadEvent[]) => {
  const s = cloneState(base);
  const t0 = performance.now();
  for (const e of evs) fold(model, s, e);
  return ((performance.now() - t0) * 1000) / evs.length;
};
const perSmall: number[] = [];
const perLarge: number[] = [];
for (let r = 0; r < 3; r++) timeFold(small, smallNext), timeFold(large, largeNext); // warm-up
for (let r = 0; r < 15; r++) {
  perSmall.push(timeFold(small, smallNext));
  perLarge.push(timeFold(large, largeNext));
}
const ratio = median(perLarge) / median(perSmall);

// 3. A read's ledger (shared/ledger.ts): refolding a stretch into entries versus folding it alone, the same
// 1,000 events (a busy month: one every 40 minutes), alternating. In a function of its own, so the loops above
// are compiled as they were before it existed.
function ledgerCost(): { ms: number; ratio: number } {
  const M = 1_000;
  const month = Array.from({ length: M }, (_, i) => makeEvent(i, START + i * 2_400_000));
  const monthEnd = START + M * 2_400_000;
  const foldOnly: number[] = [];
  const withLedger: number[] = [];
  for (let r = 0; r < 25; r++) {
    let t0 = performance.now();
    const s = initState(model);
    for (const e of month) fold(model, s, e);
    foldOnly.push(performance.now() - t0);
    t0 = performance.now();
    ledgerOf(model, initState(model), month, monthEnd);
    withLedger.push(performance.now() - t0);
  }
  // The first five of each are warm-up.
  const ms = median(withLedger.slice(5));
  return { ms, ratio: ms / median(foldOnly.slice(5)) };
}
const ledger = ledgerCost();

report('engine', [
  ['events folded per second (100,000-event history, median of 5)', Math.round(median(rates)).toLocaleString('en-US')],
  ['fold, lead with 10 events (µs/event, median)', median(perSmall).toFixed(2)],
  ['fold, lead with 100,000 events (µs/event, median)', median(perLarge).toFixed(2)],
  ['ratio 100,000 : 10 (goal ≤ 1.2)', ratio.toFixed(2)],
  ['compact state, 100,000 events (bytes of JSON)', JSON.stringify(large).length.toLocaleString('en-US')],
  ['compact state, 10 events (bytes of JSON)', JSON.stringify(small).length.toLocaleString('en-US')],
  ['ledger of a 1,000-event month (ms, median)', ledger.ms.toFixed(2)],
  ['ratio ledger : fold alone, same events', ledger.ratio.toFixed(2)],
]);

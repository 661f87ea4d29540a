import { describe, expect, it } from 'vitest';
import { compileModel } from '../../shared/compile.js';
import { b2bDefault } from '../../shared/models/b2b-default.js';
import { analyze, MIN_CONVERSIONS, splitPoint, type LearnRecord } from '../../shared/learn/analysis.js';
import { fitLogistic, predict, solveSpd } from '../../shared/learn/regression.js';
import { Replay } from '../../shared/learn/replay.js';
import { auc, brier, calibrationError, reliability, riskRatio } from '../../shared/learn/stats.js';
import { score } from '../../shared/score.js';
import { Scorer, MemoryLog } from '../../shared/scorer.js';
import type { LeadEvent } from '../../shared/events.js';
import { page, track, form, at, DAY } from '../helpers/events.js';
import { population, rng, sigmoid } from '../helpers/population.js';

const model = compileModel(b2bDefault);

function replay(lines: string[]): Replay {
  const r = new Replay(model);
  lines.forEach((l, i) => r.link(l, i + 1));
  lines.forEach((l, i) => r.add(l, i + 1));
  return r;
}
const linesOf = (leads: ReturnType<typeof population>) => leads.flatMap((l) => l.messages.map((m) => JSON.stringify(m)));

describe('statistics, against hand-computed cases', () => {
  it('the lift and its Katz interval', () => {
    // 10 of 20 with the action converted, 10 of 80 without: 0.5 / 0.125 = 4; se = √(1/10 − 1/20 + 1/10 − 1/80).
    const r = riskRatio(10, 20, 10, 80);
    expect(r.lift).toBeCloseTo(4, 12);
    const se = Math.sqrt(0.1375);
    expect(r.interval![0]).toBeCloseTo(4 * Math.exp(-1.959963984540054 * se), 12);
    expect(r.interval![1]).toBeCloseTo(8.2736, 3);
    expect(r.corrected).toBe(false);
    // A zero cell: 0.5 added to each, the interval stays finite.
    const z = riskRatio(0, 10, 5, 50);
    expect(z.corrected).toBe(true);
    expect(z.lift).toBeCloseTo((0.5 / 11) / (5.5 / 51), 12);
    expect(riskRatio(3, 0, 2, 10).lift).toBeNull();
  });

  it('AUC counts pairs, ties as half', () => {
    expect(auc([1, 2, 3, 4], [false, true, false, true])).toBeCloseTo(0.75, 12);
    expect(auc([1, 1], [true, false])).toBeCloseTo(0.5, 12);
    expect(auc([5, 1, 1, 0], [true, true, false, false])).toBeCloseTo((1 + 1 + 0.5 + 1) / 4, 12);
    expect(auc([1, 2], [true, true])).toBeNull();
  });

  it('the Brier score and reliability bins', () => {
    expect(brier([0.8, 0.3], [true, false])).toBeCloseTo(0.065, 12);
    const bins = reliability([0.05, 0.15, 0.12, 0.95], [false, true, false, true], 10);
    expect(bins[1]).toMatchObject({ leads: 2, observed: 0.5 });
    expect(bins[1].predicted).toBeCloseTo(0.135, 12);
    expect(bins[9]).toMatchObject({ leads: 1, observed: 1 });
    expect(calibrationError(bins)).toBeCloseTo((0.05 + 2 * Math.abs(0.135 - 0.5) + 0.05) / 4, 12);
  });

  it('solves a small positive definite system', () => {
    expect(solveSpd([[4, 2], [2, 3]], [2, 1]).map((v) => +v.toFixed(12))).toEqual([0.5, 0]);
  });
});

describe('logistic regression', () => {
  it('recovers a known model on simulated data, and its probabilities are calibrated on fresh data', () => {
    const random = rng(7);
    const truth = [1.5, 0.7, 0.2, -0.8];
    const draw = (n: number) => {
      const x: number[][] = [];
      const y: boolean[] = [];
      for (let i = 0; i < n; i++) {
        const row = truth.map(() => Math.floor(random() * 4));
        x.push(row);
        y.push(random() < sigmoid(-1.5 + row.reduce((s, v, j) => s + v * truth[j], 0)));
      }
      return { x, y };
    };
    const train = draw(6000);
    const fit = fitLogistic(train.x, train.y, { lambda: 1 });
    expect(fit.converged).toBe(true);
    // The ordering of the weights, and each within 0.15 of the truth (6,000 leads; the penalty is mild).
    const order = (v: number[]) => v.map((_, j) => j).sort((a, b) => v[b] - v[a]);
    expect(order(fit.coefficients)).toEqual(order(truth));
    fit.coefficients.forEach((c, j) => expect(Math.abs(c - truth[j])).toBeLessThan(0.15));
    const test = draw(4000);
    const p = test.x.map((row) => predict(fit, row));
    // Calibrated within 3 points on average over the bins, on leads the fit never saw.
    expect(calibrationError(reliability(p, test.y))).toBeLessThan(0.03);
    expect(auc(p, test.y)).toBeGreaterThan(0.75);
  });

  it('a feature that never varies gets no coefficient', () => {
    // 0.1 added 30 times is not 3 in floating point: the constant must still be seen as one.
    const fit = fitLogistic(Array.from({ length: 30 }, (_, i) => [0.1, i % 4]), Array.from({ length: 30 }, (_, i) => i % 4 >= 2));
    expect(fit.coefficients[0]).toBe(0);
    expect(fit.coefficients[1]).toBeGreaterThan(0);
  });
});

/** `n` random events over `days` days: page views, email clicks, forms and now and then an opportunity. */
function randomEvents(random: () => number, n: number, days: number, prefix: string): LeadEvent[] {
  const kinds = ['/', '/pricing', '/blog/a', '/docs/x'];
  return Array.from({ length: n }, (_, i) => {
    const t = at(Math.floor(random() * days), Math.floor(random() * 24));
    const r = random();
    if (r < 0.05) return track(t, 'Opportunity Created', {}, `${prefix}-${i}`);
    if (r < 0.12) return track(t, 'Email Link Clicked', {}, `${prefix}-${i}`);
    if (r < 0.16) return form(t, 'content_download', `${prefix}-${i}`);
    if (r < 0.2) return form(t, 'demo_request', `${prefix}-${i}`);
    return page(t, kinds[Math.floor(random() * kinds.length)], `${prefix}-${i}`);
  });
}

describe('the learning record, folded by the engine', () => {
  it('counts only what came before the conversion, and freezes the standing at it', () => {
    const events = [page(at(0), '/pricing'), form(at(1), 'demo_request'), track(at(2), 'Opportunity Created'), track(at(3), 'Webinar Attended'), page(at(4), '/pricing')];
    const { learn } = score(model, events, at(10)).state;
    expect(learn!.convertedAt).toBe(at(2));
    expect(learn!.counts).toEqual({ 'rule:pricing_visit': 1, 'rule:demo_request': 1, 'trigger:sales_request': 1 });
    expect(learn!.levelRank).toBe(model.types[0].tierIds.indexOf('very_hot'));
    expect(learn!.leadScore).toBe(30);
  });

  it('the incremental Scorer keeps the same record as a full recomputation, late events and conversions included', () => {
    const random = rng(11);
    for (let run = 0; run < 30; run++) {
      const events = randomEvents(random, 40, 20, `r${run}`);
      const scorer = new Scorer(model, new MemoryLog());
      for (let i = 0; i < events.length; i += 3) scorer.addMany(events.slice(i, i + 3));
      expect(scorer.state.learn, `run ${run}`).toEqual(score(model, events, at(30)).state.learn);
      // Checkpoints keep no record (storage per event): the refolds above recounted it from the stretches, and
      // the record at one (compaction's base) is the record with what came after it taken out.
      for (const c of scorer.checkpoints) {
        expect(c.state.learn, `run ${run}, day ${c.day}`).toBeUndefined();
        const upTo = events.filter((e) => model.days.day(e.timestamp) < c.day);
        expect(scorer.recordAt(c.state), `run ${run}, day ${c.day}`).toEqual(score(model, upTo, at(30)).state.learn);
      }
    }
  });

  it('a refold that takes events out of the history (held after they were folded) recounts the record', () => {
    const random = rng(23);
    for (let run = 0; run < 30; run++) {
      const events = randomEvents(random, 30, 15, `h${run}`).sort((a, b) => a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : 1));
      const first = new Scorer(model, new MemoryLog());
      first.addMany(events.slice(0, 20));
      // Some of what was folded goes, and new events come, in one refold (what the lead object does).
      const removed = events.slice(0, 20).filter(() => random() < 0.25);
      const added = events.slice(20);
      const kept = events.filter((e) => !removed.includes(e));
      const rest = new MemoryLog();
      for (const e of kept) rest.add(e);
      // The same fold, loaded over the log as it is now (as the lead object loads its stored state).
      const scorer = new Scorer(model, rest, { state: first.state, checkpoints: first.checkpoints, base: first.base });
      const from = Math.min(...[...removed, ...added].map((e) => e.timestamp));
      scorer.refold(from, new Set(added.map((e) => e.messageId)), removed);
      expect(scorer.state.learn, `run ${run}`).toEqual(score(model, kept, at(30)).state.learn);
    }
  });
});

describe('the replay of an export', () => {
  it('groups by identity as the Worker does, and equals a whole recomputation whatever the order', () => {
    const lines = [
      { type: 'page', anonymousId: 'anon-1', messageId: 'a', timestamp: new Date(at(0)).toISOString(), properties: { path: '/pricing' } },
      { type: 'track', userId: 'u-2', messageId: 'b', event: 'Email Link Clicked', timestamp: new Date(at(0)).toISOString() },
      { type: 'identify', anonymousId: 'anon-1', userId: 'u-1', messageId: 'c', timestamp: new Date(at(1)).toISOString(), traits: { email: 'ada@example.com' } },
      { type: 'track', userId: 'ada@example.com', messageId: 'd', event: 'Opportunity Created', timestamp: new Date(at(3)).toISOString() },
      { type: 'track', userId: 'u-1', messageId: 'e', event: 'Form Submitted', properties: { kind: 'demo_request' }, timestamp: new Date(at(2)).toISOString() },
      { type: 'track', userId: 'u-2', messageId: 'b', event: 'Email Link Clicked', timestamp: new Date(at(0)).toISOString() },
    ].map((m) => JSON.stringify(m));
    const records = replay(lines).records();
    expect(records.map((r) => r.id).sort()).toEqual(['u-1', 'u-2']);
    const u1 = records.find((r) => r.id === 'u-1')!.learn;
    expect(u1.convertedAt).toBe(at(3));
    expect(u1.counts['rule:pricing_visit']).toBe(1);
    expect(u1.counts['rule:demo_request']).toBe(1);
    // The duplicate (same messageId) counts once.
    expect(records.find((r) => r.id === 'u-2')!.learn.counts['rule:email_click']).toBe(1);
  });

  it('names the line of a bad message', () => {
    expect(() => replay(['{"type":"page","anonymousId":"x","timestamp":"2026-01-01T00:00:00Z"}', '{nope'])).toThrow(/^line 2: not JSON/);
    expect(() => replay(['{"type":"track","anonymousId":"x","timestamp":"2026-01-01T00:00:00Z"}'])).toThrow(/line 1: .*event/);
  });
});

describe('the analysis', () => {
  const leads = population({ leads: 3000, seed: 5, start: at(0) });
  const report = analyze(model, replay(linesOf(leads)).records(), { holdout: 0.3, seed: 2 });

  it('is deterministic and splits by a stable hash of the lead id and the seed', () => {
    expect(splitPoint('sim-000001', 2)).toBe(splitPoint('sim-000001', 2));
    expect(splitPoint('sim-000001', 2)).not.toBe(splitPoint('sim-000001', 3));
    const again = analyze(model, replay(linesOf(leads)).records().reverse(), { holdout: 0.3, seed: 2 });
    expect(again).toEqual(report);
    expect(report.holdout.leads / report.leads).toBeGreaterThan(0.25);
    expect(report.holdout.leads / report.leads).toBeLessThan(0.35);
  });

  it('suggests weights that recover the generating model’s ordering', () => {
    expect(report.enoughData).toBe(true);
    expect(report.leads).toBe(3000);
    expect(report.conversions).toBe(leads.filter((l) => l.converted).length);
    const w = Object.fromEntries(report.suggestedWeights!.weights.map((x) => [x.rule, x]));
    expect(w.demo_request.coefficient).toBeGreaterThan(w.pricing_visit.coefficient);
    expect(w.pricing_visit.coefficient).toBeGreaterThan(w.email_click.coefficient);
    expect(w.email_click.coefficient).toBeGreaterThan(w.other_page.coefficient);
    // The largest gets the model's largest points (25), the rest in proportion, rounded.
    expect(w.demo_request.suggested).toBe(25);
    expect(Math.abs(w.other_page.suggested!)).toBeLessThanOrEqual(2);
    // Never seen in the sample: no suggestion either way.
    expect(w.contact_sales.suggested).toBeNull();
  });

  it('gives no credit to an action that only follows conversion', () => {
    // Every converted lead attended a webinar, after converting: counted, it would be the best predictor there is.
    const webinar = report.actions.find((a) => a.feature === 'rule:webinar_attended')!;
    expect(webinar.with.leads).toBe(0);
    expect(report.suggestedWeights!.weights.find((x) => x.rule === 'webinar_attended')!.coefficient).toBe(0);
    const trigger = report.triggers.find((a) => a.id === 'webinar_attended')!;
    expect(trigger.with.leads).toBe(0);
    expect(trigger.belowThreshold).toBeNull();
  });

  it('measures lift, flags triggers below 3×, and is calibrated on the holdout', () => {
    const demo = report.actions.find((a) => a.feature === 'rule:demo_request')!;
    const expected = (() => {
      const w = leads.filter((l) => l.counts.demo_request > 0);
      const wo = leads.filter((l) => l.counts.demo_request === 0);
      return w.filter((l) => l.converted).length / w.length / (wo.filter((l) => l.converted).length / wo.length);
    })();
    expect(demo.lift).toBeCloseTo(expected, 10);
    expect(demo.interval![0]).toBeLessThan(demo.lift!);
    expect(demo.interval![1]).toBeGreaterThan(demo.lift!);
    const sales = report.triggers.find((t) => t.id === 'sales_request')!;
    expect(sales.belowThreshold).toBe(sales.lift! < 3);
    // An email click is worth 0.3 log-odds in the generating model: far from a 3× lift.
    const click = report.triggers.find((t) => t.id === 'email_click')!;
    expect(click.lift!).toBeLessThan(2);
    expect(click.belowThreshold).toBe(true);
    const ev = report.evaluation!;
    expect(ev.aucProbability).toBeGreaterThan(0.7);
    expect(ev.brier).toBeLessThan(ev.brierBaseline!);
    expect(ev.calibrationError).toBeLessThan(0.06);
    expect(report.levels.reduce((s, l) => s + l.leads, 0)).toBe(3000);
    expect(report.scoreBands.reduce((s, l) => s + l.leads, 0)).toBe(3000);
  });

  it('answers "not enough data" below the minimum, and still counts what it has', () => {
    const few: LearnRecord[] = replay(linesOf(population({ leads: 400, seed: 9, start: at(0) }))).records();
    const converted = few.filter((r) => r.learn.convertedAt !== null);
    const kept = [...few.filter((r) => r.learn.convertedAt === null), ...converted.slice(0, MIN_CONVERSIONS - 1)];
    const r = analyze(model, kept);
    expect(r.enoughData).toBe(false);
    expect(r.reason).toMatch(/not enough data: 19 converted/);
    expect(r.suggestedWeights).toBeNull();
    expect(r.fit).toBeNull();
    expect(r.levels.reduce((s, l) => s + l.conversions, 0)).toBe(19);
    expect(analyze(model, [...kept, converted[MIN_CONVERSIONS - 1]]).enoughData).toBe(true);
  });
});

void DAY;

describe('the backtest', () => {
  it('tells its progress on each pass and reads the same lines twice', async () => {
    const { backtest } = await import('../../shared/learn/backtest.js');
    const lines = linesOf(population({ leads: 50, seed: 3, start: at(0) }));
    const told: [number, number][] = [];
    let reads = 0;
    const r = await backtest(model, {
      lines: async function* () {
        reads++;
        yield* lines;
      },
      every: 100,
      progress: (pass, n) => told.push([pass, n]),
    }, {});
    expect(reads).toBe(2);
    expect(r.lines).toBe(lines.length);
    const expected = Array.from({ length: Math.floor(lines.length / 100) }, (_, i) => (i + 1) * 100);
    expect(told).toEqual([...expected.map((n) => [1, n]), ...expected.map((n) => [2, n])]);
  });
});

/**
 * Conversion evidence (SPEC, "Model lifecycle and learning"), secret key only:
 * - `GET /v1/insights/conversion?from=&to=&holdout=&seed=`: the conversion analysis on the lead index.
 * - `GET /v1/export?from=&to=`: every lead's scored events as Segment messages, one per line (NDJSON), lead
 *   after lead and each oldest first: what `npx leadlevel backtest` reads, giving the same numbers.
 */
import { Hono, type Context } from 'hono';
import { authenticate, requireSecret } from '../auth.js';
import { listParams } from '../cursor.js';
import type { Env } from '../env.js';
import { invalid } from '../errors.js';
import { conversionReport, periodPage, storeFit, type Period } from '../learning.js';
import { leadStub } from '../lead/index.js';
import { activeModel } from '../model.js';
import { DEFAULT_HOLDOUT, DEFAULT_SEED } from '../../shared/learn/analysis.js';
import type { EventCursor } from '../../shared/api.js';
import { parseIsoDate, type Problem } from '../../shared/validate.js';

/** The query parameters, each problem named; `from`/`to` bound when the lead was first seen. */
function params(c: Context<{ Bindings: Env }>, allowed: string[]): { period: Period; holdout: number; seed: number } {
  const { problems, one } = listParams(c.req.queries(), allowed);
  const time = (name: string): number | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    const t = parseIsoDate(v);
    if (t !== undefined) return t;
    problems.push({ path: name, reason: `must be an ISO 8601 date or date and time with a zone, like "2026-03-01" or "2026-03-01T00:00:00Z" (got "${v.slice(0, 40)}")` });
  };
  const period: Period = { from: time('from'), to: time('to') };
  if (period.from !== undefined && period.to !== undefined && period.from >= period.to) problems.push({ path: 'to', reason: 'must be after from' });
  const number = (name: string, fallback: number, ok: (n: number) => boolean, reason: string, p: Problem[]) => {
    const v = one(name);
    if (v === undefined) return fallback;
    const n = v.trim() === '' ? NaN : Number(v);
    if (!ok(n)) p.push({ path: name, reason: `${reason} (got "${v.slice(0, 20)}")` });
    return n;
  };
  const holdout = number('holdout', DEFAULT_HOLDOUT, (n) => n >= 0 && n <= 0.9, 'must be a share from 0 to 0.9', problems);
  const seed = number('seed', DEFAULT_SEED, Number.isSafeInteger, 'must be a whole number', problems);
  if (problems.length) invalid(problems);
  return { period, holdout, seed };
}

export const conversionRoutes = new Hono<{ Bindings: Env }>().get('/', async (c) => {
  requireSecret(authenticate(c), 'reading conversion insights');
  const { period, holdout, seed } = params(c, ['from', 'to', 'holdout', 'seed']);
  const model = activeModel();
  const report = await conversionReport(c.env.INDEX, model, period, { holdout, seed });
  // The whole index with the defaults is the fit lead reads apply: stored while we have it.
  if (period.from === undefined && period.to === undefined && holdout === DEFAULT_HOLDOUT && seed === DEFAULT_SEED) await storeFit(c.env.INDEX, model, report, Date.now());
  return c.json(report);
});

/** Leads per page of the index walk, and events per page of a lead's history: what the stream holds at once. */
const KEYS_PAGE = 100;
const EVENTS_PAGE = 500;

export const exportRoutes = new Hono<{ Bindings: Env }>().get('/', (c) => {
  requireSecret(authenticate(c), 'exporting events');
  const { period } = params(c, ['from', 'to']);
  const db = c.env.INDEX;
  const encoder = new TextEncoder();
  let keys: string[] = [];
  let afterKey = '';
  let done = false;
  let lead: string | null = null;
  let cursor: EventCursor | null = null;
  // Pulled a page at a time: the reader's pace bounds what is in memory, whatever the number of leads.
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          if (lead === null) {
            if (!keys.length && !done) {
              const rows = await periodPage(db, period, afterKey, KEYS_PAGE, true);
              keys = rows.map((r) => r.key);
              if (rows.length) afterKey = rows[rows.length - 1].key;
              if (rows.length < KEYS_PAGE) done = true;
            }
            if (!keys.length) {
              controller.close();
              return;
            }
            lead = keys.shift()!;
            cursor = null;
          }
          const page = await leadStub(c.env, lead).exportEvents(cursor, EVENTS_PAGE);
          cursor = page?.next ?? null;
          if (!cursor) lead = null;
          if (page?.messages.length) {
            controller.enqueue(encoder.encode(page.messages.map((m) => JSON.stringify(m)).join('\n') + '\n'));
            return;
          }
        }
      },
    },
    { highWaterMark: 1 },
  );
  return new Response(body, { headers: { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' } });
});

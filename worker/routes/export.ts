/**
 * `GET /v1/export?from=&to=` (secret key): every lead's scored events as Segment messages, one per line (NDJSON),
 * lead after lead and each oldest first: what `npx leadlevel backtest` reads, giving the numbers
 * `GET /v1/insights/conversion` gives (routes/insights.ts). `from`/`to` bound when the lead was first seen, read
 * as the insights routes read them.
 */
import { Hono } from 'hono';
import type { Env } from '../env.js';
import { invalid } from '../errors.js';
import { periodPage } from '../learning.js';
import { leadStub } from '../lead/index.js';
import type { EventCursor } from '../../shared/api.js';
import { params, period as periodOf } from './insights.js';

/** Leads per page of the index walk, and events per page of a lead's history: what the stream holds at once. */
const KEYS_PAGE = 100;
const EVENTS_PAGE = 500;

export const exportRoutes = new Hono<{ Bindings: Env }>().get('/', (c) => {
  const { problems, one } = params(c, ['from', 'to'], 'exporting events');
  const period = periodOf(one, problems);
  if (problems.length) invalid(problems);
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

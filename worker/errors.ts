/** Every failure is JSON: a machine-readable `error`, a `message` for people, and details where they help. */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { formatProblems, type Problem } from '../shared/validate.js';

export function fail(status: ContentfulStatusCode, error: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): never {
  const res = new Response(JSON.stringify({ error, message, ...extra }), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  });
  throw new HTTPException(status, { res, message });
}

/** At most this many problems are listed in an answer (all are counted). */
const SHOWN = 50;

/** 413 when something is over a size limit, else 400; `extra` joins the answer (a batch's `rejected`). */
export function invalid(problems: Problem[], extra: Record<string, unknown> = {}): never {
  const shown = problems.slice(0, SHOWN);
  if (problems.some((p) => p.tooLarge)) {
    const big = problems.filter((p) => p.tooLarge).slice(0, SHOWN);
    fail(413, 'payload_too_large', formatProblems(big), { problems: big, ...extra });
  }
  fail(400, 'invalid_request', formatProblems(shown), { problems: shown, more: problems.length - shown.length || undefined, ...extra });
}

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

export function invalid(problems: Problem[]): never {
  const shown = problems.slice(0, 50);
  if (problems.some((p) => p.tooLarge)) {
    const big = problems.filter((p) => p.tooLarge);
    fail(413, 'payload_too_large', formatProblems(big), { problems: big });
  }
  fail(400, 'invalid_request', formatProblems(shown), { problems: shown, more: problems.length - shown.length || undefined });
}

/**
 * A Workflow's walk over keys in pages, one durable step a page (worker/reindex.ts, worker/model-run.ts). The
 * progress a step returns is absolute, so a replayed run rebuilds it from the recorded steps and only the
 * steps not recorded yet run again: a run interrupted anywhere resumes where it stopped.
 */
import type { WorkflowStep, WorkflowStepConfig } from 'cloudflare:workers';

export const RETRIES: WorkflowStepConfig = { retries: { limit: 5, delay: '2 seconds', backoff: 'exponential' } };

export interface Page<P> {
  progress: P;
  /** The last key of the page: the next page starts after it. */
  last: string | null;
  more: boolean;
}

/**
 * Runs `page` from the first key until a page says there is no more; answers the last progress. `attempt`: the
 * step's attempt, from 1 (RETRIES allows 6).
 */
export async function walkPages<P extends Rpc.Serializable<P>>(step: WorkflowStep, label: string, start: P, page: (after: string, before: P, attempt: number) => Promise<Page<P>>): Promise<P> {
  let progress = start;
  let after = '';
  for (let i = 0; ; i++) {
    const r = (await step.do(`${label} page ${i}`, RETRIES, (ctx) => page(after, progress, ctx?.attempt ?? 1) as Promise<Rpc.Serializable<Page<P>>>)) as Page<P>;
    progress = r.progress;
    if (!r.more || r.last === null) return progress;
    after = r.last;
  }
}

/** Calls `fn` for every key, `concurrency` at a time. */
export async function eachKey<T>(keys: readonly string[], concurrency: number, fn: (key: string) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < keys.length; i += concurrency) out.push(...(await Promise.all(keys.slice(i, i + concurrency).map(fn))));
  return out;
}

/** `eachKey`, each key's failure its own: the others' answers stand. */
export const eachKeySettled = <T>(keys: readonly string[], concurrency: number, fn: (key: string) => Promise<T>): Promise<({ key: string; ok: true; value: T } | { key: string; ok: false; error: unknown })[]> =>
  eachKey(keys, concurrency, (key) =>
    fn(key).then(
      (value) => ({ key, ok: true as const, value }),
      (error: unknown) => ({ key, ok: false as const, error }),
    ),
  );

/**
 * The backtest's replay: Segment messages (one per line of an export) grouped into leads by the Worker's own
 * identity rules (worker/identity.ts: a lead is its userId, else its email, else its anonymousId; ids that
 * appear together are one lead), folded through the engine under a model, read as learning records.
 *
 * Two passes over the input, so memory stays bounded by the number of leads rather than of events. The first
 * links ids and notes, per line, its id and time (12 bytes a line). The second folds each lead as its lines
 * come, straight into its compact state, when the first pass saw them in time order (an export from
 * `GET /v1/export` is: oldest first per lead); a lead whose lines came out of order is kept as events and
 * scored whole at the end (shared/score.ts), which dedupes and sorts.
 */
import type { CompiledModel } from '../compile.js';
import { fold, initState, isInOrder, type LeadState } from '../engine.js';
import type { LeadEvent } from '../events.js';
import { normalizeMessage, type NormalizedMessage } from '../normalize.js';
import { score } from '../score.js';
import { checkMessage, formatProblems, type Problem } from '../validate.js';
import { anonKey, emailKey, userKey } from '../../worker/identity.js';
import type { LearnRecord } from './analysis.js';

export class ReplayError extends Error {}

/** Parses and checks one line (`check`: the first pass; the second reads what it already checked); throws ReplayError naming the line. */
function message(line: string, lineNo: number, check = true): NormalizedMessage | null {
  if (!line.trim()) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new ReplayError(`line ${lineNo}: not JSON (${(err as Error).message})`);
  }
  const problems: Problem[] = [];
  // An export's ids are the stored ones (a source prefix, a merge's origin): longer than a client may send.
  const { messageId, ...rest } = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : { raw }) as Record<string, unknown>;
  if (messageId !== undefined && (typeof messageId !== 'string' || !messageId)) problems.push({ path: 'messageId', reason: 'must be a non-empty string' });
  // A line of n UTF-16 units is at most 3n bytes: only a line that could be over 32 KB is measured.
  if (check && (!checkMessage(typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? rest : raw, '', problems, line.length * 3, Number.MAX_SAFE_INTEGER) || problems.length)) {
    throw new ReplayError(`line ${lineNo}: ${formatProblems(problems)}`);
  }
  const msg: Record<string, unknown> = { ...rest, messageId };
  // History as recorded: its times are taken as they are (no receipt to correct a sentAt against).
  delete msg.sentAt;
  if (msg.timestamp === undefined && msg.originalTimestamp === undefined) throw new ReplayError(`line ${lineNo}: needs a timestamp (when it happened)`);
  const n = normalizeMessage(msg as never, { receivedAt: Number.MAX_SAFE_INTEGER, keyKind: 'secret' });
  // The id as written (an export's ids are the lead's own), else one fixed by the line: a rerun gives the same.
  n.event.messageId = typeof msg.messageId === 'string' ? msg.messageId : `line:${lineNo}`;
  return n;
}

const RANK: Record<string, number> = { u: 0, e: 1, a: 2 };

interface Lead {
  key: string;
  state: LeadState | null;
  /** Message ids folded so far (in-order leads): a repeat is a duplicate. */
  seen: Set<string> | null;
  events: LeadEvent[] | null;
}

export class Replay {
  readonly #ids = new Map<string, number>();
  readonly #keys: string[] = [];
  readonly #parent: number[] = [];
  #lineKey = new Int32Array(1024);
  #lineTs = new Float64Array(1024);
  #lines = 0;
  #planned = false;
  readonly #leads = new Map<number, Lead>();
  /** Which roots arrived out of order (buffered), and each root's last line: there its record is final. */
  readonly #unordered = new Set<number>();
  readonly #lastLine = new Map<number, number>();
  readonly #done: LearnRecord[] = [];
  events = 0;

  constructor(readonly model: CompiledModel) {}

  #id(key: string): number {
    let i = this.#ids.get(key);
    if (i === undefined) {
      i = this.#keys.length;
      this.#ids.set(key, i);
      this.#keys.push(key);
      this.#parent.push(i);
    }
    return i;
  }

  #find(i: number): number {
    while (this.#parent[i] !== i) i = this.#parent[i] = this.#parent[this.#parent[i]];
    return i;
  }

  /** The more definite id leads the group (userId, then email, then anonymousId; the first seen among equals). */
  #union(a: number, b: number): void {
    const [ra, rb] = [this.#find(a), this.#find(b)];
    if (ra === rb) return;
    const better = RANK[this.#keys[ra][0]] <= RANK[this.#keys[rb][0]] ? ra : rb;
    this.#parent[better === ra ? rb : ra] = better;
  }

  #primary(m: NormalizedMessage): string {
    return m.userId ? userKey(m.userId) : m.email ? emailKey(m.email) : anonKey(m.anonymousId!);
  }

  /** First pass, line by line (1-based numbers): links ids, notes where each event goes. */
  link(line: string, lineNo: number): void {
    const m = message(line, lineNo);
    if (this.#lines >= this.#lineKey.length) {
      const k = new Int32Array(this.#lineKey.length * 2);
      k.set(this.#lineKey);
      this.#lineKey = k;
      const t = new Float64Array(this.#lineTs.length * 2);
      t.set(this.#lineTs);
      this.#lineTs = t;
    }
    const at = this.#lines++;
    this.#lineKey[at] = -1;
    if (!m) return;
    const target = this.#id(this.#primary(m));
    // As route() links them for a server's (secret-key) message.
    const others = [m.anonymousId && anonKey(m.anonymousId), m.email && emailKey(m.email), ...(m.previousId === undefined ? [] : [anonKey(m.previousId), userKey(m.previousId)])];
    for (const k of others) if (k) this.#union(target, this.#id(k));
    if (m.previousId !== undefined) return; // an alias only links
    this.#lineKey[at] = target;
    this.#lineTs[at] = m.event.timestamp;
  }

  /** Between the passes: which leads came in time order. */
  #plan(): void {
    const last = new Map<number, number>();
    for (let i = 0; i < this.#lines; i++) {
      const k = this.#lineKey[i];
      if (k < 0) continue;
      const root = this.#find(k);
      const t = this.#lineTs[i];
      // Equal times are ordered by messageId, which this pass does not keep: such a lead is scored whole.
      if ((last.get(root) ?? -Infinity) >= t) this.#unordered.add(root);
      last.set(root, t);
      this.#lastLine.set(root, i);
    }
    this.#planned = true;
  }

  /** Second pass, the same lines in the same order. */
  add(line: string, lineNo: number): void {
    if (!this.#planned) this.#plan();
    const k = this.#lineKey[lineNo - 1];
    if (k < 0) return;
    const m = message(line, lineNo, false)!;
    const root = this.#find(k);
    let lead = this.#leads.get(root);
    if (!lead) {
      const ordered = !this.#unordered.has(root);
      lead = { key: this.#keys[root], state: ordered ? initState(this.model) : null, seen: ordered ? new Set() : null, events: ordered ? null : [] };
      this.#leads.set(root, lead);
    }
    this.events++;
    if (lead.events) lead.events.push(m.event);
    else if (!lead.seen!.has(m.event.messageId) && isInOrder(lead.state!, m.event)) {
      lead.seen!.add(m.event.messageId);
      fold(this.model, lead.state!, m.event);
    }
    // The lead's last line: its record is final, and nothing of it need stay in memory.
    if (this.#lastLine.get(root) === lineNo - 1) {
      this.#done.push(this.#record(lead));
      this.#leads.delete(root);
    }
  }

  #record(lead: Lead): LearnRecord {
    const state = lead.state ?? score(this.model, lead.events!, Number.MAX_SAFE_INTEGER).state;
    return { id: lead.key.slice(2), learn: state.learn! };
  }

  /** Every lead's learning record, its id the lead's public id (userId, else email, else anonymousId). */
  records(): LearnRecord[] {
    return [...this.#done, ...[...this.#leads.values()].map((l) => this.#record(l))];
  }
}

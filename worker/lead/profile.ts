/**
 * The lead's profile: the latest value of each trait (identify traits and Segment's `context.traits`), with
 * the time it was set, and the accounts the lead belongs to (Segment `group` calls, with the account's traits).
 * Owns the `traits` and `accounts` tables (store.ts's third migration). Fed from events, so a merge — which
 * hands the events over — carries the profile with it; kept apart from the events, so compaction keeps it.
 */
import type { JsonObject, JsonValue, LeadEvent } from '../../shared/events.js';
import type { Store } from './store.js';

/** Traits and accounts a lead keeps: a site key may write traits, so a visitor cannot grow its lead without end. */
export const MAX_TRAITS = 200;
export const MAX_ACCOUNTS = 20;
const MAX_NAME = 200;

export interface ProfileView {
  traits: Record<string, { value: JsonValue; at: string }>;
  accounts: { groupId: string; traits: JsonObject; at: string }[];
}

export class Profile {
  constructor(private readonly store: Store) {}

  get #sql(): SqlStorage {
    return this.store.storage.sql;
  }

  /** Takes in the traits and groups of events just stored (or handed over by a merge); later values win. */
  note(events: readonly LeadEvent[]): void {
    if (!this.store.exists) return;
    const sql = this.#sql;
    let traits = (sql.exec('SELECT COUNT(*) AS n FROM traits').one().n as number) ?? 0;
    let accounts = (sql.exec('SELECT COUNT(*) AS n FROM accounts').one().n as number) ?? 0;
    for (const e of events) {
      for (const [name, value] of Object.entries(e.traits ?? {})) {
        if (name.length > MAX_NAME || value === undefined) continue;
        const had = sql.exec('SELECT at FROM traits WHERE name = ?', name).toArray()[0];
        if (!had && traits >= MAX_TRAITS) continue;
        if (had && (had.at as number) > e.timestamp) continue;
        sql.exec('INSERT OR REPLACE INTO traits (name, value, at) VALUES (?, ?, ?)', name, JSON.stringify(value), e.timestamp);
        if (!had) traits++;
      }
      if (e.type !== 'group' || typeof e.properties.groupId !== 'string') continue;
      const groupId = e.properties.groupId;
      const had = sql.exec('SELECT traits, at FROM accounts WHERE group_id = ?', groupId).toArray()[0];
      if (!had && accounts >= MAX_ACCOUNTS) continue;
      const given = e.properties.traits && typeof e.properties.traits === 'object' && !Array.isArray(e.properties.traits) ? (e.properties.traits as JsonObject) : {};
      // Each trait of the account: the later call's value wins; the account's time is its latest call.
      const old = had ? (JSON.parse(had.traits as string) as JsonObject) : {};
      const newer = !had || (had.at as number) <= e.timestamp;
      const merged = newer ? { ...old, ...given } : { ...given, ...old };
      sql.exec('INSERT OR REPLACE INTO accounts (group_id, traits, at) VALUES (?, ?, ?)', groupId, JSON.stringify(merged), newer ? e.timestamp : (had!.at as number));
      if (!had) accounts++;
    }
  }

  view(): ProfileView {
    if (!this.store.exists) return { traits: {}, accounts: [] };
    const iso = (t: SqlStorageValue) => new Date(t as number).toISOString();
    const traits: ProfileView['traits'] = {};
    for (const r of this.#sql.exec('SELECT name, value, at FROM traits ORDER BY name')) traits[r.name as string] = { value: JSON.parse(r.value as string) as JsonValue, at: iso(r.at) };
    const accounts = this.#sql
      .exec('SELECT group_id, traits, at FROM accounts ORDER BY at DESC')
      .toArray()
      .map((r) => ({ groupId: r.group_id as string, traits: JSON.parse(r.traits as string) as JsonObject, at: iso(r.at) }));
    return { traits, accounts };
  }
}

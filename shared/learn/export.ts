/**
 * A stored event as the Segment message `GET /v1/export` writes for it: what the backtest (replay.ts) reads
 * back into the same lead, the same event at the same time. The lead is named as the Worker names it (its
 * userId or email as `userId`, an anonymous lead by `anonymousId`), so the replay groups it as the Worker did.
 */
import type { JsonObject, LeadEvent } from '../events.js';

export function exportMessage(e: LeadEvent, leadKey: string): JsonObject {
  const id = leadKey.slice(2);
  const m: JsonObject = { type: e.type, messageId: e.messageId, ...(leadKey.startsWith('a:') ? { anonymousId: id } : { userId: id }), timestamp: new Date(e.timestamp).toISOString() };
  if (e.type === 'track' && e.event !== undefined) m.event = e.event;
  if (e.type === 'group') {
    const { groupId, traits, ...properties } = e.properties as JsonObject;
    m.groupId = groupId ?? '';
    if (traits !== undefined) m.traits = traits;
    if (Object.keys(properties).length) m.properties = properties;
  } else {
    m.properties = e.properties as JsonObject;
    if (e.traits) m[e.type === 'identify' ? 'traits' : 'context'] = e.type === 'identify' ? (e.traits as JsonObject) : { traits: e.traits as JsonObject };
  }
  return m;
}

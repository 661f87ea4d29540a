/**
 * Limits, each named after the platform limit it derives from, so a reader can check the source.
 */

/** Segment HTTP tracking API: "The maximum size of a single message is 32 KB." */
export const SEGMENT_MAX_MESSAGE_BYTES = 32 * 1024;

/** Segment HTTP tracking API: "The `batch` request body may not exceed 500 KB." */
export const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;

/**
 * Fetch spec, "keepalive": the sum of bodies of in-flight keepalive requests is capped at 64 KiB per
 * document (Chromium enforces it; sendBeacon shares the budget). An unload flush must fit inside it.
 */
export const KEEPALIVE_BUDGET_BYTES = 64 * 1024;

/**
 * How far back a browser event may be timed: the SDK's persistent queue keeps events at most this long,
 * so anything older from a site key is clamped (SPEC: "back to 7 days").
 */
export const BROWSER_MAX_EVENT_AGE_MS = 7 * 24 * 3600 * 1000;

/** Clock skew tolerated for timestamps ahead of the collector's clock before they are clamped to now. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** Segment's messageId limit is not documented; 100 characters covers UUIDs and every library's format. */
export const MAX_MESSAGE_ID_LENGTH = 100;

/** Ids (userId, anonymousId) longer than this are certainly not ids; Segment's own libraries stay far below. */
export const MAX_ID_LENGTH = 200;

/** Event names: Segment's UI truncates beyond this; longer names are a client bug, not a signal. */
export const MAX_EVENT_NAME_LENGTH = 200;

/** A session ends after 30 minutes without an event (SPEC, "Precise terms"; Google Analytics' default). */
export const SESSION_GAP_MS = 30 * 60 * 1000;

export const DAY_MS = 24 * 3600 * 1000;

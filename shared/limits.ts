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

/**
 * How deeply a message may nest: the message object is level 1, its `properties` level 2. Real payloads nest a
 * few levels (Segment's `context.page` is 3). Everything that walks a value recursively — the structured clone to
 * the Durable Object, JSON.stringify, property matching — runs out of stack a few thousand levels down: 2,500
 * levels of `{"a":` (15 KB, well inside the 32 KB message limit) crashed the lead object with a RangeError. 32 is
 * far above any real event and far below any stack.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * The earliest time a message may carry. No client of this protocol predates it; anything earlier is a default
 * (1970-01-01, the epoch) or a typo (0202 for 2020), and would sit in the lead's history forever.
 */
// A literal, not Date.UTC(2000, 0, 1): a call would stay in the SDK's bundle (esbuild cannot drop it unused).
export const EARLIEST_TIMESTAMP = 946_684_800_000;

/**
 * How far ahead of the collector's clock a time may be before it is refused rather than clamped to receipt: a
 * local time sent as UTC is off by at most 14 hours (UTC+14, Kiribati), plus clock drift. Beyond a day the clock
 * or the code that set the field is broken.
 */
export const MAX_FUTURE_TIMESTAMP_MS = DAY_MS;

/**
 * The scoring model: configuration a marketing-ops engineer writes (JSON), validated on load.
 * Types here are the input shape; `validateModel` fills defaults and returns a `CompiledModel` the engine runs.
 */

/** What an event must look like for a rule, a floor or a suppression to apply. All given conditions must hold. */
export interface Match {
  /** `page` for page views, `track` for events, `identify`. Implied `track` when `event` is given. */
  type?: 'page' | 'track' | 'identify';
  /** A track event name, or several. */
  event?: string | string[];
  /**
   * Page path patterns (page views and `Page Engaged`). `*` matches within one segment, `**` any depth;
   * `/pricing/**` also matches `/pricing` itself.
   */
  path?: string | string[];
  /** `Form Submitted` kind(s). */
  formKind?: string | string[];
  /** `Page Engaged`: at least this many visible seconds. */
  minSeconds?: number;
  /** Any property: equal to a value, one of several values, or `{ gte, lte }` for numbers. */
  properties?: Record<string, PropertyCondition>;
}

export type PropertyCondition =
  | string
  | number
  | boolean
  | Array<string | number | boolean>
  | { gte?: number; lte?: number; exists?: boolean };

export interface Caps {
  /** At most this many scoring events of the rule per day (model days: UTC unless the model names a zone). */
  perDay?: number;
  /** At most this many in any rolling `days`-day window. */
  perWindow?: { days: number; count: number };
  /** At most this many over the lead's whole life. */
  perLead?: number;
}

export interface Rule {
  /** Stable id used in ledgers and reasons (`pricing_visit`). */
  id: string;
  /** Human name shown to sales (`Pricing visit`). */
  name?: string;
  match: Match;
  /** Points given, positive or negative. */
  points: number;
  caps?: Caps;
  /** Applies only when no earlier rule matched the same event ("any other page"). */
  otherwise?: boolean;
  /**
   * Whether scoring this rule counts as activity (resets de-escalation timers, lifts the level). Default true;
   * the default model sets false for `Email Opened`: opens are passive and mail scanners open everything.
   */
  activity?: boolean;
  /** Rules in the same group share the group's caps. */
  group?: string;
}

export interface GroupCap {
  id: string;
  /** At most this many points per day from the group's rules. */
  perDay: number;
}

export interface Tier {
  id: string;
  name?: string;
  /** Lowest engagement score in this tier. The first tier starts at 0. */
  min: number;
  /** Optional, for readers: the highest score in the tier. Must be the next tier's min minus one. */
  max?: number;
}

/** A condition on the visitor's current session (SPEC: a session ends after 30 minutes without an event). */
export interface SessionCondition {
  /** At least this many distinct page paths in one session… */
  distinctPages: number;
  /** …among paths matching these patterns (all pages when absent). */
  path?: string | string[];
}

export interface Floor {
  id: string;
  name?: string;
  /** The level the lead is lifted to, at least, when this happens. */
  level: string;
  match?: Match;
  session?: SessionCondition;
}

export interface Surge {
  /** Score gain over `days` that lifts the level one tier above its score tier. */
  points: number;
  days: number;
}

export interface InactivityPenalty {
  /** Days without activity… */
  afterDays: number;
  /** …cost this many lead-score points (negative). */
  points: number;
}

export interface AbsenceRule {
  id: string;
  name?: string;
  /** When nothing matching this has happened for `days` days (counted from the last match, else first sight)… */
  match: Match;
  days: number;
  /** …the lead score changes by this much (negative), once per spell of absence. */
  points: number;
}

export interface Stage {
  id: string;
  name?: string;
  /** Reached when all given conditions hold; a lead never moves back to an earlier stage. */
  minLeadScore?: number;
  minEngagementScore?: number;
  minLevel?: string;
  /** …and the lead's fit grade is this one or better (`B`: A or B). Needs the model's `fit` section. */
  minFit?: FitGrade;
}

export interface ScoringType {
  id: string;
  name?: string;
  rules: Rule[];
  groups?: GroupCap[];
  /** At most this many points per day from all rules together. */
  dailyPointsCap?: number;
  /** Engagement score window in days (today and the days before it). Default 30. */
  windowDays?: number;
  inactivity?: InactivityPenalty[];
  absence?: AbsenceRule[];
  tiers: Tier[];
  floors?: Floor[];
  surge?: Surge | null;
  /** Idle days in a tier before the lead drops one tier, by tier id. The lowest tier has none. */
  ladder?: Record<string, number>;
  /** Events that set the lowest tier at once and mark the lead do-not-contact, whatever comes later. */
  suppress?: Match[];
  stages?: Stage[];
}

/** Fit grades, best first. D is every score below C's threshold. */
export type FitGrade = 'A' | 'B' | 'C' | 'D';

/**
 * One fit rule: when the lead's trait meets the condition, the rule gives its points. Give exactly one kind of
 * condition: a number range (`gte`, `lte`), a list of values (`in`), words (`matches`) or `exists`.
 */
export interface FitRule {
  /**
   * The trait, or several names for it: the first one the lead has is used (`["employees",
   * "company.employee_count"]`). A dotted name reaches into an object trait (`address.country`). A name the
   * lead's own traits lack is looked up in the traits of its account (its latest Segment `group` call).
   */
  trait: string | string[];
  /** Shown with the points in the lead's fit reasons (`200+ employees`). */
  label: string;
  /** Points given, positive or negative (a disqualifier). */
  points: number;
  /** At least / at most this number. A text value counts by its first number: "201-500" is 201, "10,000+" 10000. */
  gte?: number;
  lte?: number;
  /** One of these values (text compared case-insensitively, ignoring surrounding spaces). */
  in?: Array<string | number>;
  /**
   * Words or phrases, any of which the value contains as whole words, case-insensitively: `"VP|Head|Chief"` or
   * `["VP", "Head of"]`. Plain words only (letters, digits, spaces and & . ' / + -): not a regular expression.
   */
  matches?: string | string[];
  /** The lead has the trait (true) or lacks it (false). */
  exists?: boolean;
  /** Applies only when no earlier rule on the same trait gave points (a ladder: C-level, else director, …). */
  otherwise?: boolean;
}

/** The model's fit section: identify traits (company size, industry, role, country) → points → a grade A–D. */
export interface FitSection {
  rules: FitRule[];
  /** The lowest fit score of each grade; they must descend. D is every score below C. */
  grades: { A: number; B: number; C: number };
}

/**
 * Machines are not people (SPEC, "Sources: email services and bots"): events that look like a crawler's or a mail
 * scanner's are stored but held — they earn nothing and trigger nothing — until the lead shows a person's
 * behaviour. Holds by user agent or honeypot are for good; holds by timing are released.
 */
export interface Holding {
  /** Default true; false scores every event as it comes. */
  enabled?: boolean;
  /** Hold, for good, events whose user agent is a known crawler or mail scanner (isbot, plus shared/agents.ts). Default true. */
  crawlers?: boolean;
  /** Hold opens and clicks this many seconds or less after their message's `Email Delivered`. Default 10; 0 turns it off. */
  afterDeliverySeconds?: number;
  /** Hold link clicks when `clicks` of them fall within `seconds`. Default 3 within 1; null turns it off. */
  burst?: { clicks: number; seconds: number } | null;
  /**
   * Honeypot links (hidden in emails; no person sees them): a click on one is held for good. `*` matches any
   * characters; a pattern starting with `/` is matched against the clicked URL's path and query.
   */
  honeypot?: string[];
  /** What shows a person and releases the lead's held opens and clicks before it. Default: page views and forms. */
  releaseOn?: Match[];
}

export interface Model {
  id: string;
  name?: string;
  /** Increases with every published change; stored with scores so a rescore is traceable. */
  version?: number;
  /** IANA time zone for days and caps. Default UTC. */
  timeZone?: string;
  /** Minutes without an event that end a session. Default 30. */
  sessionMinutes?: number;
  /** Custom track event names rules may use besides SPEC's canonical ones. */
  customEvents?: string[];
  scoringTypes: ScoringType[];
  /**
   * How well the lead fits the ideal customer profile, from its traits: shown in reads, usable in stages. Null
   * (in a file that extends a shipped model) turns it off.
   */
  fit?: FitSection | null;
  /** Holding back machines' events (crawlers, mail scanners); on by default. */
  holding?: Holding;
}

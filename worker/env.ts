/**
 * The Worker's environment. The bindings (LEAD, DIRECTORY, REINDEX, MODEL_RUNS, INDEX, ASSETS, ADDRESS_LIMIT) and `[vars]` come from
 * wrangler.toml through `wrangler types` (worker/configuration.d.ts: `npm run types` regenerates it, and `npm test`
 * fails when it no longer matches wrangler.toml); secrets and optional variables are declared here, with what
 * each is for.
 */
export interface Env extends Cloudflare.Env {
  /** Exactly `development` (`npm start`, the tests) allows the local default keys; anything else needs real ones. */
  ENVIRONMENT: string;
  /** Site keys and their allowed origins, JSON: {"pk_live_…": {"origins": ["https://www.example.com"]}}. */
  SITE_KEYS?: string;
  /**
   * Signs the userIds a site's pages send (context.userHash = hex HMAC-SHA256 of the userId); without it, a
   * site key cannot write a userId at all. `wrangler secret put IDENTITY_SECRET`.
   */
  IDENTITY_SECRET?: string;
  /** During a rotation of IDENTITY_SECRET, the one before it: proofs made with either are accepted. */
  IDENTITY_SECRET_PREVIOUS?: string;
  /** Secret keys, comma-separated (set with `wrangler secret put SECRET_KEYS`). */
  SECRET_KEYS?: string;
  /** Days raw events are kept before they are compacted into day rollups (default 400). */
  RAW_RETENTION_DAYS?: string;
  /** Overrides leadlevel.site.json's origin: the marketing site the Worker stands in front of. */
  SITE_ORIGIN?: string;
  /** `off`: pages pass through unpersonalized (the SDK still personalizes in the browser). */
  EDGE_PERSONALIZATION?: string;
  /**
   * The personalization holdout's share of visitors (0 to 0.5), overriding leadlevel.site.json's `holdout` for
   * this environment; `off`: none.
   */
  PERSONALIZATION_HOLDOUT?: string;
  /**
   * The key the holdout's groups are drawn with (HMAC of each visitor id): `wrangler secret put HOLDOUT_SECRET`
   * (openssl rand -hex 32). Without it a deployment holds nobody out; locally a development key is used.
   */
  HOLDOUT_SECRET?: string;
  /** `true`: site keys may also read their visitor's scores and reasons (the demo badge). Never in production. */
  DEMO_MODE?: string;
  /** Leads one request may address (default 1,000; on the Workers Free plan, 45). */
  LEADS_PER_REQUEST?: string;
  /** Days an erased lead's ids drop the events that still arrive for them (default 30). */
  ERASURE_QUARANTINE_DAYS?: string;
  /** `true` lifts the per-address limit, under ENVIRONMENT=development only (the benchmark's one-address load). */
  ADDRESS_LIMIT_OFF?: string;
  /** Events a visitor may send per minute with a site key before 429 (default 120). */
  VISITOR_EVENTS_PER_MINUTE?: string;
  /**
   * Email-service sources (README, "Email services"); a source whose settings are absent answers 404.
   * SendGrid's Signed Event Webhook verification key (base64 DER SPKI, as Mail Settings shows it):
   * `wrangler secret put SENDGRID_WEBHOOK_PUBLIC_KEY`.
   */
  SENDGRID_WEBHOOK_PUBLIC_KEY?: string;
  /** Mailgun's HTTP webhook signing key (HMAC-SHA256 of timestamp + token): `wrangler secret put MAILGUN_WEBHOOK_SIGNING_KEY`. */
  MAILGUN_WEBHOOK_SIGNING_KEY?: string;
  /** The HTTP Basic credentials in the webhook URL Postmark calls (`https://user:password@…`); both, as secrets. */
  POSTMARK_WEBHOOK_USER?: string;
  POSTMARK_WEBHOOK_PASSWORD?: string;
  /**
   * Notifications (README, "Teams and notifications"). Signs webhooks per Standard Webhooks: whsec_ + base64 of
   * 24 to 64 random bytes (`wrangler secret put WEBHOOK_SECRET`); development has a default, production without
   * it sends no webhook and answers 503 not_configured on the notification routes.
   */
  WEBHOOK_SECRET?: string;
  /** The email provider's API key (Resend's, or a compatible provider's) for email destinations: a secret. */
  EMAIL_API_KEY?: string;
  /** The email provider's API base URL (default https://api.resend.com; `POST {url}/emails`). */
  EMAIL_API_URL?: string;
  /** The sender of notification emails, on a domain the provider has verified: `leadlevel <leads@example.com>`. */
  EMAIL_FROM?: string;
  /**
   * The Worker's public address (https://leads.example.com), for the profile links in notifications; outside
   * development the dashboard (/app) answers only on its host, which must not be a host routed through edge mode.
   */
  PUBLIC_URL?: string;
  /** Milliseconds a receiver may take to answer before the attempt is retried with the same id (default 10,000). */
  NOTIFY_TIMEOUT_MS?: string;
}

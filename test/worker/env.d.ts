// The test's view of the Worker: wrangler.toml's bindings (worker/configuration.d.ts, from `wrangler types`) and
// what only the tests bind (vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    INDEX_MIGRATIONS: import('cloudflare:test').D1Migration[];
    SITE_KEYS?: string;
    SECRET_KEYS?: string;
    RAW_RETENTION_DAYS?: string;
    VISITOR_EVENTS_PER_MINUTE?: string;
    SITE_ORIGIN?: string;
    DEMO_MODE?: string;
    EDGE_PERSONALIZATION?: string;
    SENDGRID_WEBHOOK_PUBLIC_KEY?: string;
    /** The private half of the test run's SendGrid key pair (vitest.config.ts): what SendGrid signs with. */
    TEST_SENDGRID_PRIVATE_KEY: string;
    MAILGUN_WEBHOOK_SIGNING_KEY?: string;
    POSTMARK_WEBHOOK_USER?: string;
    POSTMARK_WEBHOOK_PASSWORD?: string;
    /** The loopback receiver's address (test/e2e/receiver.ts, started by vitest.config.ts). */
    TEST_RECEIVER: string;
  }
}

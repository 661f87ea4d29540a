// The test's view of the Worker: its bindings and its main module's exports.
declare namespace Cloudflare {
  interface Env {
    LEAD: DurableObjectNamespace<import('../../worker/lead/index.js').Lead>;
    INDEX: D1Database;
    INDEX_MIGRATIONS: import('cloudflare:test').D1Migration[];
    ASSETS?: Fetcher;
    ENVIRONMENT?: string;
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
  }
  interface GlobalProps {
    mainModule: typeof import('../../worker/index.js');
    durableNamespaces: 'Lead';
  }
}

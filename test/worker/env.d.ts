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
  }
}

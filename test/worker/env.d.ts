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
  }
  interface GlobalProps {
    mainModule: typeof import('../../worker/index.js');
    durableNamespaces: 'Lead';
  }
}

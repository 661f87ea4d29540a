// The lead index's schema in the tests' local D1, as `wrangler d1 migrations apply` makes it for a deployment.
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

await applyD1Migrations(env.INDEX, env.INDEX_MIGRATIONS);

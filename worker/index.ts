/**
 * The collector. A thin Worker: CORS, keys, size limits, validation and response shape; all lead state lives
 * in the Lead Durable Objects.
 */
import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { ModelError } from '../shared/compile.js';
import { formatProblems } from '../shared/validate.js';
import { deployedConfigProblems, formatConfigProblems } from './config.js';
import type { Env } from './env.js';
import { fail } from './errors.js';
import { checkEngagementDrop } from './insights-alert.js';
import { keyConfig, originOfSomeSite } from './keys.js';
import { activeModel } from './model.js';
import { SiteConfigError } from './site.js';
import { TeamsConfigError } from './notify/teams.js';
import { appRoutes, dashboardHost } from './app/index.js';
import { adminRoutes } from './routes/admin.js';
import { ingestRoutes } from './routes/ingest.js';
import { modelRoutes } from './routes/models.js';
import { insightRoutes } from './routes/insights.js';
import { leadRoutes, levelRoutes } from './routes/leads.js';
import { exportRoutes } from './routes/export.js';
import { deliveryRoutes, teamRoutes } from './routes/notifications.js';
import { servePage } from './routes/pages.js';
import { sdkRoutes } from './routes/sdk.js';
import { sourceRoutes } from './routes/sources.js';

export { Directory } from './directory.js';
export { Lead } from './lead/index.js';
export { ModelRun } from './model-run.js';
export { Reindex } from './reindex.js';

const app = new Hono<{ Bindings: Env }>();

// CORS is answered only for origins some configured site key allows (SPEC, "Trust boundaries"): any other page
// can neither preflight nor read an answer. Ingest with text/plain needs no preflight; the headers allowed are
// every one Segment's analytics.js may send.
const ALLOWED_HEADERS = 'Content-Type, Authorization, Content-Encoding, X-Retry-Count';

/** The request's Origin, if a configured site key allows it. */
function corsOrigin(c: Context<{ Bindings: Env }>): string | undefined {
  const origin = c.req.header('Origin');
  return origin && originOfSomeSite(keyConfig(c.env), origin) ? origin : undefined;
}

app.use('/v1/*', async (c, next) => {
  const origin = corsOrigin(c);
  if (c.req.method === 'OPTIONS') {
    // A 403 with a reason rather than a bare 204: the browser refuses either way, a person with curl learns why.
    const asked = c.req.header('Origin');
    if (!origin) fail(403, 'origin_not_allowed', asked ? `origin ${asked.slice(0, 100)} is not allowed by any site key of this collector` : 'a CORS preflight needs an Origin header', {}, { Vary: 'Origin' });
    return new Response(null, {
      status: 204,
      headers: {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': '86400',
        Vary: 'Origin',
      },
    });
  }
  await next();
  // Errors come through here too (Hono hands them to onError, then back): a page can read why it was refused.
  c.res.headers.append('Vary', 'Origin');
  if (origin) {
    c.res.headers.set('Access-Control-Allow-Origin', origin);
    // The SDK reads Retry-After on a 429 from another origin.
    c.res.headers.set('Access-Control-Expose-Headers', 'Retry-After');
  }
});

// A configuration the Worker cannot serve answers 503 with its problems everywhere (npm start and the deploy
// build already refuse it; this is for a Worker reached anyway), never a 500 from the first route that reads it.
app.use('*', async (c, next) => {
  const problems = deployedConfigProblems();
  if (problems.length) fail(503, 'config_invalid', `this deployment's configuration is invalid: ${formatConfigProblems(problems).replace(/\n/g, '; ')}`, { problems });
  await next();
});

// Fail closed: no API and no health until the keys are right (ENVIRONMENT other than "development" needs real ones).
const keysGate = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const { problems } = keyConfig(c.env);
  if (problems.length) fail(503, 'not_configured', `this deployment's keys are not configured: ${formatProblems(problems)}`, { problems });
  await next();
});
app.use('/v1/*', keysGate);
app.use('/health', keysGate);

app.get('/health', (c) => c.json({ ok: true, service: 'leadlevel', model: activeModel().id, version: activeModel().version }));

// Before ingest: its single-call pattern must not take a source's path.
app.route('/v1/sources', sourceRoutes);
app.route('/v1', ingestRoutes);
app.route('/v1/leads', leadRoutes);
app.route('/v1/export', exportRoutes);
app.route('/v1/level', levelRoutes);
app.route('/v1/deliveries', deliveryRoutes);
app.route('/v1/teams', teamRoutes);
app.route('/v1/admin', adminRoutes);
app.route('/v1/models', modelRoutes);
app.route('/v1/insights', insightRoutes);

// The operator dashboard (worker/app/), only on the host of PUBLIC_URL, behind the same key gate as the API: it
// signs in with a secret key.
app.use('/app/*', dashboardHost, keysGate);
app.use('/app', dashboardHost, keysGate);
app.get('/app/', (c) => c.redirect('/app', 301));
app.route('/app', appRoutes);

app.route('/', sdkRoutes);

// Everything else is the site (the configured origin, or the bundled demo site), personalized at the edge.
app.all('*', async (c) => {
  if (new URL(c.req.url).pathname.startsWith('/v1/')) {
    return c.json({ error: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404);
  }
  return servePage(c);
});

app.onError((err) => {
  if (err instanceof HTTPException) return err.getResponse();
  if (err instanceof ModelError || err instanceof SiteConfigError || err instanceof TeamsConfigError) {
    // Not reached while the check above holds; if it ever is, still the configuration's answer, not a 500.
    return Response.json({ error: 'config_invalid', message: err.message, problems: err.problems }, { status: 503 });
  }
  console.error('unexpected error', err);
  return Response.json({ error: 'internal', message: 'unexpected error; it has been logged' }, { status: 500 });
});

/**
 * The Cron Trigger (wrangler.toml `[triggers]`): the engagement-index drop alert. Locally `wrangler dev
 * --test-scheduled` serves it at /__scheduled; the tests call it directly.
 */
async function scheduled(_controller: ScheduledController, env: Env): Promise<void> {
  if (deployedConfigProblems().length || keyConfig(env).problems.length) return;
  await checkEngagementDrop(env, Date.now());
}

// The Hono app itself stays the default export (tests call its `request`), with the Cron Trigger's handler beside `fetch`.
export default Object.assign(app, { scheduled });

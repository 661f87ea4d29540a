/**
 * The collector. A thin Worker: CORS, keys, size limits, validation and response shape; all lead state lives
 * in the Lead Durable Objects.
 */
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { ModelError } from '../shared/compile.js';
import { formatProblems } from '../shared/validate.js';
import type { Env } from './env.js';
import { fail } from './errors.js';
import { keyConfig } from './keys.js';
import { activeModel } from './model.js';
import { siteConfig, SiteConfigError } from './site.js';
import { ingestRoutes } from './routes/ingest.js';
import { leadRoutes, levelRoutes } from './routes/leads.js';
import { servePage } from './routes/pages.js';
import { sdkRoutes } from './routes/sdk.js';

export { Lead } from './lead.js';

const app = new Hono<{ Bindings: Env }>();

// Browsers: ingest with text/plain needs no preflight; the response is readable by the page's origin.
app.use('/v1/*', async (c, next) => {
  const origin = c.req.header('Origin');
  if (c.req.method === 'OPTIONS') {
    return new Response(null, {
      status: 204,
      headers: {
        'Access-Control-Allow-Origin': origin ?? '*',
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Authorization, Content-Encoding',
        'Access-Control-Max-Age': '86400',
        Vary: 'Origin',
      },
    });
  }
  await next();
  if (origin) {
    c.res.headers.set('Access-Control-Allow-Origin', origin);
    c.res.headers.set('Access-Control-Expose-Headers', 'Retry-After');
    c.res.headers.append('Vary', 'Origin');
  }
});

// Fail closed: no API and no health until the keys are right (ENVIRONMENT other than "development" needs real ones).
const keysGate = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const { problems } = keyConfig(c.env);
  if (problems.length) fail(503, 'not_configured', `this deployment's keys are not configured: ${formatProblems(problems)}`, { problems });
  await next();
});
app.use('/v1/*', keysGate);
app.use('/health', keysGate);

app.use('/v1/*', async (c, next) => {
  activeModel();
  siteConfig();
  await next();
});

app.get('/health', (c) => c.json({ ok: true, service: 'leadlevel', model: activeModel().id, version: activeModel().version }));

app.route('/v1', ingestRoutes);
app.route('/v1/leads', leadRoutes);
app.route('/v1/level', levelRoutes);

app.route('/', sdkRoutes);

// Everything else is the site (the configured origin, or the bundled demo site), personalized at the edge.
app.all('*', async (c) => {
  if (new URL(c.req.url).pathname.startsWith('/v1/')) {
    return c.json({ error: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404);
  }
  return servePage(c);
});

app.onError((err, c) => {
  let res: Response;
  if (err instanceof HTTPException) res = err.getResponse();
  else if (err instanceof ModelError) {
    res = Response.json({ error: 'model_invalid', message: err.message, problems: err.problems }, { status: 500 });
  } else {
    console.error('unexpected error', err);
    res = Response.json({ error: 'internal', message: 'unexpected error; it has been logged' }, { status: 500 });
  }
  const origin = c.req.header('Origin');
  if (origin) {
    res = new Response(res.body, res);
    res.headers.set('Access-Control-Allow-Origin', origin);
    // The SDK reads Retry-After on a 429 from another origin.
    res.headers.set('Access-Control-Expose-Headers', 'Retry-After');
  }
  return res;
});

export default app;

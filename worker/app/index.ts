/**
 * The operator dashboard at /app: server-rendered pages (Hono's JSX), a session per operator (session.ts), Hono's
 * csrf() Origin check and a per-session token on every form, and a strict Content-Security-Policy — scripts and
 * styles only from /app/static, no inline script but JSON islands, which are not executed.
 */
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { DRAFT_LIMIT } from '../routes/models.js';
import { fail } from '../errors.js';
import { deliveries, retry, sendTest } from './deliveries.js';
import { leadProfile } from './lead.js';
import { modelAction, modelPage, saveDraft } from './model.js';
import { liveRoutes } from './live.js';
import { overview } from './overview.js';
import { contacted, queue } from './queue.js';
import type { Env } from '../env.js';
import { requireCsrfToken, requireSession, type AppEnv } from './session.js';
import { signInRoutes } from './sign-in.js';
import { staticRoutes } from './static.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** The largest form the dashboard takes (a sign-in, a contact): bigger bodies are refused before they are read. */
const FORM_BYTES = 8_192;
/** The model page's draft form: a model file of DRAFT_LIMIT characters, form-encoded (which can triple it). */
const DRAFT_FORM_BYTES = 3 * DRAFT_LIMIT + FORM_BYTES;
const DRAFT_FORM = '/app/model/drafts';

/**
 * The dashboard answers only on its own host. In edge mode the marketing site's hostname routes to this Worker,
 * and a script on that site (a tag manager, a chat widget, an XSS in the CMS) is same-origin with anything the
 * Worker answers there: it could read /app with the operator's cookie and post its forms, past SameSite and the
 * Origin check. So outside development /app exists only on the host of PUBLIC_URL (which must not be a host
 * routed through edge mode), and answers 404 everywhere else — and everywhere, without PUBLIC_URL.
 */
export const dashboardHost = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  if (c.env.ENVIRONMENT === 'development') return next();
  let own: string;
  try {
    own = new URL(c.env.PUBLIC_URL ?? '').host;
  } catch {
    fail(404, 'dashboard_not_configured', `the dashboard answers only on the host of PUBLIC_URL, which is ${c.env.PUBLIC_URL ? 'not a URL' : 'not set'}: set it to this deployment's own address (https://leads.example.com), a host that is not routed through edge mode`);
  }
  if (new URL(c.req.url).host !== own) fail(404, 'not_found', 'the dashboard does not answer on this host (only on the host of PUBLIC_URL)');
  await next();
});

export const appRoutes = new Hono<AppEnv>();

appRoutes.use('*', async (c, next) => {
  await next();
  c.res.headers.set('Content-Security-Policy', CSP);
  c.res.headers.set('X-Content-Type-Options', 'nosniff');
  c.res.headers.set('Referrer-Policy', 'same-origin');
  if (c.res.headers.get('Content-Type')?.startsWith('text/html')) c.res.headers.set('Cache-Control', 'no-store');
});
// A form from another site is refused by its Origin (or Sec-Fetch-Site) before anything else, with a JSON answer
// that says so (Hono's csrf() answers a bare 403).
const sameOrigin = csrf();
appRoutes.use('*', async (c, next) => {
  try {
    await sameOrigin(c, async () => {});
  } catch {
    fail(403, 'cross_origin_form', `a dashboard form must come from a page of ${new URL(c.req.url).origin} (Origin ${c.req.header('Origin')?.slice(0, 100) ?? 'missing'}, Sec-Fetch-Site ${c.req.header('Sec-Fetch-Site') ?? 'missing'})`);
  }
  await next();
});
const limit = (maxSize: number, what: string) => bodyLimit({ maxSize, onError: () => fail(413, 'body_too_large', `${what} is at most ${maxSize} bytes`) });
const formLimit = limit(FORM_BYTES, 'a dashboard form');
const draftLimit = limit(DRAFT_FORM_BYTES, 'a model draft form');
appRoutes.use('*', (c, next) => (c.req.path === DRAFT_FORM ? draftLimit : formLimit)(c, next));

appRoutes.route('/static', staticRoutes);
appRoutes.route('/', signInRoutes);
appRoutes.use('*', requireSession, requireCsrfToken);
appRoutes.route('/api', liveRoutes);
appRoutes.get('/', overview);
appRoutes.get('/queue', queue);
appRoutes.get('/leads/:id', leadProfile);
appRoutes.post('/leads/:id/contacted', contacted);
appRoutes.get('/model', modelPage);
appRoutes.post('/model/drafts', saveDraft);
appRoutes.post('/model/:version/:action', modelAction);
appRoutes.get('/deliveries', deliveries);
appRoutes.post('/deliveries/:id/retry', retry);
appRoutes.post('/teams/:id/test', sendTest);
appRoutes.all('*', (c) => c.json({ error: 'not_found', message: `the dashboard has no ${c.req.method} ${c.req.path} (pages: /app, /app/queue, /app/leads/{id}, /app/model, /app/deliveries)` }, 404));

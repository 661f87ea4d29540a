/** The sign-in page and sign-out (worker/app/session.ts). */
import { Hono } from 'hono';
import { Layout } from './layout.js';
import { clientAddress } from '../routes/ingest.js';
import { delayFailedSignIn, endSession, formOf, isOperatorSecret, requireCsrfToken, requireSession, safeNext, sessionOf, startSession, type AppEnv } from './session.js';

function SignIn(props: { next: string; error?: string }) {
  return (
    <Layout title="Sign in" section="sign-in">
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
      <form method="post" action="/app/sign-in" class="stack">
        <input type="hidden" name="next" value={props.next} />
        <label>
          Operator secret (a secret key of this deployment, sk_…)
          <input type="password" name="secret" autocomplete="current-password" required autofocus />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}

export const signInRoutes = new Hono<AppEnv>()
  .get('/sign-in', async (c) => {
    const next = safeNext(c, c.req.query('next'));
    if (await sessionOf(c)) return c.redirect(next, 303);
    return c.html(<SignIn next={next} />);
  })
  .post('/sign-in', async (c) => {
    const body = await formOf(c);
    const next = safeNext(c, body.next);
    const secret = typeof body.secret === 'string' ? body.secret : '';
    // Every attempt counts against the client address's limit (the ADDRESS_LIMIT binding, as ingest's per-address
    // one): guesses in parallel are bounded too, not only slowed one at a time.
    const address = clientAddress(c.req.header('CF-Connecting-IP'));
    const allowed = address ? await c.env.ADDRESS_LIMIT?.limit({ key: `sign-in|${address}` }).then((r) => r.success, () => true) : true;
    if (allowed === false) {
      c.header('Retry-After', '60');
      return c.html(<SignIn next={next} error="Too many sign-in attempts from this address: wait a minute and try again." />, 429);
    }
    if (!secret || !(await isOperatorSecret(c.env, secret))) {
      await delayFailedSignIn();
      return c.html(<SignIn next={next} error="That is not a secret key of this deployment." />, 401);
    }
    await startSession(c);
    return c.redirect(next, 303);
  })
  .post('/sign-out', requireSession, requireCsrfToken, (c) => {
    endSession(c);
    return c.redirect('/app/sign-in', 303);
  });

/**
 * Fail-closed keys: the local defaults only where ENVIRONMENT is exactly "development"; anywhere else SITE_KEYS
 * and SECRET_KEYS with real random keys, or 503 `not_configured` with every problem — never a 500, never served.
 */
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import app from '../../worker/index.js';
import { userHash } from '../../worker/identity-proof.js';
import { LOCAL_PAGE, SECRET, call, env, uid } from './helpers.js';

const SITE = 'pk_live_' + '2c1e'.repeat(8);
const SECRET_KEY = 'sk_live_' + '8f3a'.repeat(8);
const REAL = { SITE_KEYS: JSON.stringify({ [SITE]: { origins: ['https://www.example.com'] } }), SECRET_KEYS: SECRET_KEY };

/** A request to the Worker deployed with these variables (the rest as in the tests' wrangler.toml). */
const send = (vars: Record<string, string | undefined>, path = '/v1/leads/nobody', init: RequestInit = {}) =>
  app.fetch(new Request(`http://collector.test${path}`, init), { ...env, ENVIRONMENT: undefined, ...vars } as never, createExecutionContext());

async function notConfigured(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBe(503);
  const body = JSON.parse(text);
  expect(body.error).toBe('not_configured');
  return body as { message: string; problems: { path: string; reason: string }[] };
}

/** The test deployment (ENVIRONMENT=development, the local defaults) still answers. */
async function control() {
  const res = await call('/v1/batch', { method: 'POST', headers: { Authorization: SECRET }, json: { batch: [{ type: 'page', userId: uid('u'), properties: { path: '/' } }] } });
  expect(res.status).toBe(200);
}

describe('the local default keys work only in development', () => {
  it('"production", "Production", "prod", "staging", "development " and no ENVIRONMENT at all refuse them', async () => {
    for (const ENVIRONMENT of ['production', 'Production', 'prod', 'staging', 'development ', '', undefined]) {
      const body = await notConfigured(await send({ ENVIRONMENT }, '/v1/leads/nobody', { headers: { Authorization: SECRET } }));
      expect(body.problems.map((p) => p.path), String(ENVIRONMENT)).toEqual(['SITE_KEYS', 'SECRET_KEYS']);
      expect(body.message).toMatch(/SECRET_KEYS: is not set .*so the local sk_dev is off/);
      // Nothing is served: not a browser write with pk_demo, not the health check.
      const write = await send({ ENVIRONMENT }, '/v1/batch', { method: 'POST', headers: { Origin: LOCAL_PAGE }, body: JSON.stringify({ writeKey: 'pk_demo', batch: [{ type: 'page', anonymousId: uid('a') }] }) });
      await notConfigured(write);
      await notConfigured(await send({ ENVIRONMENT }, '/health'));
    }
    await control();
  });

  it('the defaults, set explicitly outside development, are refused too', async () => {
    const body = await notConfigured(await send({ ENVIRONMENT: 'staging', SECRET_KEYS: 'sk_dev', SITE_KEYS: '{"pk_demo": {"origins": ["http://localhost:*"]}}' }));
    expect(body.problems).toEqual([
      { path: 'SECRET_KEYS[0]', reason: expect.stringMatching(/^is the local default key/) },
      { path: 'SITE_KEYS["pk_demo"]', reason: expect.stringMatching(/^is the local default key/) },
    ]);
    await control();
  });
});

describe('outside development every key must be a real random key', () => {
  it('short keys, wrong prefixes, keys with characters that break Basic auth or URLs: every problem, no key echoed', async () => {
    const body = await notConfigured(
      await send({
        ENVIRONMENT: 'production',
        SECRET_KEYS: `sk_,sk_live_1,${'sk_' + 'x'.repeat(23)},sk_live:${'a'.repeat(30)},${SITE}`,
        SITE_KEYS: JSON.stringify({ pk_live_1: { origins: ['https://www.example.com'] }, [SITE]: { origins: ['www.example.com', 'https://www.example.com/pricing'] }, [`live_${'b'.repeat(30)}`]: { origins: [] } }),
      }),
    );
    expect(body.problems.map((p) => `${p.path}: ${p.reason.split(':')[0].split(';')[0]}`)).toEqual([
      'SITE_KEYS["pk_live_2c1e2c1e…"].origins[0]: "www.example.com" is not an origin like https',
      'SITE_KEYS["pk_live_2c1e2c1e…"].origins[1]: "https',
      'SITE_KEYS["live_bbbbbbbbbbb…"]: a site key starts with pk_',
      'SITE_KEYS["live_bbbbbbbbbbb…"].origins: needs the list of origins the site is served from, e.g. ["https',
      'SECRET_KEYS[0]: is not a real random key',
      'SECRET_KEYS[1]: is not a real random key',
      'SECRET_KEYS[2]: is not a real random key',
      'SECRET_KEYS[3]: is not a real random key',
      'SECRET_KEYS[4]: a secret key starts with sk_',
      'SECRET_KEYS[4]: is also a site key',
      'SITE_KEYS["pk_live_1"]: is not a real random key',
    ]);
    // The answer is public: it never shows a secret key, not even in part.
    expect(JSON.stringify(body)).not.toMatch(/sk_live_1|xxxxxxxx|sk_live:/);
    await control();
  });

  it('SITE_KEYS that is not JSON, not an object, or names no key; SECRET_KEYS that names none', async () => {
    for (const [SITE_KEYS, reason] of [['pk_live_x', /is not JSON/], ['["pk_x"]', /must be a JSON object/], ['{}', /names no site key/]] as const) {
      const body = await notConfigured(await send({ ENVIRONMENT: 'production', SITE_KEYS, SECRET_KEYS: SECRET_KEY }));
      expect(body.problems).toEqual([{ path: 'SITE_KEYS', reason: expect.stringMatching(reason) }]);
    }
    const body = await notConfigured(await send({ ENVIRONMENT: 'production', SITE_KEYS: REAL.SITE_KEYS, SECRET_KEYS: ' , ' }));
    expect(body.problems).toEqual([{ path: 'SECRET_KEYS', reason: expect.stringMatching(/names no key/) }]);
    await control();
  });

  it('real keys serve, in any environment that is not development; the defaults are then unknown', async () => {
    for (const ENVIRONMENT of ['production', 'staging']) {
      const read = await send({ ENVIRONMENT, ...REAL }, '/v1/leads/nobody', { headers: { Authorization: `Bearer ${SECRET_KEY}` } });
      expect(read.status).toBe(404);
      expect(((await read.json()) as { error: string }).error).toBe('lead_not_found');
      const write = await send({ ENVIRONMENT, ...REAL }, '/v1/batch', { method: 'POST', headers: { Origin: 'https://www.example.com' }, body: JSON.stringify({ writeKey: SITE, batch: [{ type: 'page', anonymousId: uid('a'), properties: { path: '/' } }] }) });
      expect(write.status).toBe(200);
      expect((await send({ ENVIRONMENT, ...REAL }, '/v1/leads/nobody', { headers: { Authorization: SECRET } })).status).toBe(401);
      expect((await send({ ENVIRONMENT, ...REAL }, '/health')).status).toBe(200);
    }
  });

  it('the demo explanation of scores is for development only', async () => {
    const anon = uid('a');
    const vars = { ENVIRONMENT: 'staging', DEMO_MODE: 'true', ...REAL };
    const origin = { headers: { Origin: 'https://www.example.com' } };
    await send(vars, '/v1/batch', { method: 'POST', ...origin, body: JSON.stringify({ writeKey: SITE, batch: [{ type: 'page', anonymousId: anon, properties: { path: '/pricing' } }] }) });
    const level = (await (await send(vars, `/v1/level?anonymousId=${anon}&writeKey=${SITE}&explain=1`, origin)).json()) as Record<string, unknown>;
    expect(level.known).toBe(true);
    expect(level.leadScore).toBeUndefined();
  });
});

describe('IDENTITY_SECRET', () => {
  it('a short one, or the local one, stops a deployment like a bad key; without one a site key cannot write a userId', async () => {
    for (const IDENTITY_SECRET of ['short', 'dev-identity-secret-not-for-production']) {
      const body = await notConfigured(await send({ ...REAL, IDENTITY_SECRET }, '/v1/leads/nobody', { headers: { Authorization: `Bearer ${SECRET_KEY}` } }));
      expect(body.problems.map((p) => p.path)).toEqual(['IDENTITY_SECRET']);
      expect(body.message).not.toContain(IDENTITY_SECRET);
    }
    const res = await send(REAL, '/v1/batch', {
      method: 'POST',
      headers: { Origin: 'https://www.example.com' },
      body: JSON.stringify({ writeKey: SITE, batch: [{ type: 'identify', anonymousId: uid('a'), userId: uid('u'), context: { userHash: 'a'.repeat(64) } }] }),
    });
    expect(res.status).toBe(403);
    expect((await res.json<any>()).problems[0]).toMatchObject({ path: 'batch[0].userId', reason: expect.stringMatching(/no IDENTITY_SECRET/) });
    await control();
  });
});

describe('rotating IDENTITY_SECRET', () => {
  it('accepts proofs made with IDENTITY_SECRET_PREVIOUS until it is removed', async () => {
    const [current, previous, other] = ['c'.repeat(40), 'p'.repeat(40), 'o'.repeat(40)];
    const identify = async (vars: Record<string, string>, secret: string) => {
      const userId = uid('u');
      return send({ ...REAL, ...vars }, '/v1/batch', {
        method: 'POST',
        headers: { Origin: 'https://www.example.com' },
        body: JSON.stringify({ writeKey: SITE, batch: [{ type: 'identify', anonymousId: uid('a'), userId, context: { userHash: await userHash(secret, userId) } }] }),
      });
    };
    const rotating = { IDENTITY_SECRET: current, IDENTITY_SECRET_PREVIOUS: previous };
    expect((await identify(rotating, current)).status).toBe(200);
    expect((await identify(rotating, previous)).status).toBe(200);
    expect((await identify(rotating, other)).status).toBe(403);
    expect((await identify({ IDENTITY_SECRET: current }, previous)).status).toBe(403);
    const short = await notConfigured(await send({ ...REAL, IDENTITY_SECRET: current, IDENTITY_SECRET_PREVIOUS: 'old' }, '/v1/leads/nobody', { headers: { Authorization: `Bearer ${SECRET_KEY}` } }));
    expect(short.problems.map((p) => p.path)).toEqual(['IDENTITY_SECRET_PREVIOUS']);
  });
});

it('a deployment without the per-address rate-limit binding is not configured', async () => {
  const body = await notConfigured(await send({ ...REAL, ADDRESS_LIMIT: undefined }, '/v1/leads/nobody', { headers: { Authorization: `Bearer ${SECRET_KEY}` } }));
  expect(body.problems.map((p) => p.path)).toEqual(['ADDRESS_LIMIT']);
  expect((await send(REAL, '/v1/leads/nobody', { headers: { Authorization: `Bearer ${SECRET_KEY}` } })).status).toBe(404);
});

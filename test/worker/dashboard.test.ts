/**
 * The operator dashboard at /app, in workerd: sign-in and its session cookie, redirects without one, CSRF attacks
 * (a form from another origin, a form without the session's token) refused with nothing changed, attacker-set
 * traits escaped on every page, and each page answering with what the index and the lead hold.
 */
import { createExecutionContext } from 'cloudflare:test';
import { serializeSigned } from 'hono/utils/cookie';
import { describe, expect, it, vi } from 'vitest';
import { inlineJson, num } from '../../worker/app/layout.js';
import { CURSOR_READS } from '../../worker/app/live.js';
import { mode, received } from './receiver.js';
import app from '../../worker/index.js';
import { call, FORM, island, page, signIn } from './dashboard-session.js';
import { BASE, SECRET, browserBatch, drain, env, readLead, serverBatch, uid } from './helpers.js';

/** The session-signing key session.ts derives from a deployment's secret keys, derived here on its own. */
async function sessionKeyOf(secret: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, new TextEncoder().encode('leadlevel operator session v1'));
}

/** A Location that stays on the dashboard: a path (never `//` or `/\\`), on this origin, `/app` or under `/app/`. */
function expectOnDashboard(location: string | null, what: string) {
  expect(location, what).toMatch(/^\/app(?:[/?]|$)/);
  const url = new URL(location!, BASE);
  expect(url.origin, what).toBe(BASE);
  expect(url.pathname, what).toMatch(/^\/app(?:\/|$)/);
}


/** A Very Hot lead (a demo request) routed to the account executives, with an open SLA. */
async function hotLead() {
  const userId = uid('dash');
  await serverBatch([
    { type: 'identify', userId, messageId: uid('m'), traits: { email: `${userId}@example.com`, company_size: 500, role: 'VP Marketing' } },
    { type: 'track', userId, messageId: uid('m'), event: 'Form Submitted', properties: { kind: 'demo_request' } },
  ]);
  await drain(`u:${userId}`);
  return userId;
}

describe('dashboard sign-in', () => {
  it('refuses a wrong secret and a site key, sets nothing', async () => {
    for (const secret of ['sk_wrong', 'pk_demo', '']) {
      const res = await call('/app/sign-in', { method: 'POST', headers: FORM, body: new URLSearchParams({ secret }) });
      expect(res.status, secret).toBe(401);
      expect(res.headers.get('Set-Cookie')).toBeNull();
      expect(await res.text()).toContain('not a secret key of this deployment');
    }
  });

  it('attack: guessing in parallel from one address hits the per-address limit; even the right secret waits, another address does not', async () => {
    // The tests' ADDRESS_LIMIT allows 40 requests a minute per key (vitest.config.ts).
    const from = (ip: string, secret: string) => call('/app/sign-in', { method: 'POST', headers: { ...FORM, 'CF-Connecting-IP': ip }, body: new URLSearchParams({ secret }) });
    const guesses = await Promise.all(Array.from({ length: 45 }, (_, i) => from('10.99.1.1', `sk_guess_${i}`)));
    const statuses = guesses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(40);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(5);
    const right = await from('10.99.1.1', 'sk_dev');
    expect(right.status).toBe(429);
    expect(right.headers.get('Set-Cookie')).toBeNull();
    expect(right.headers.get('Retry-After')).toBe('60');
    expect((await from('10.99.1.2', 'sk_dev')).status).toBe(303);
  });

  it('signs in with a secret key: an HttpOnly, SameSite=Strict session cookie for /app, and signs out', async () => {
    const res = await call('/app/sign-in', { method: 'POST', headers: FORM, body: new URLSearchParams({ secret: 'sk_dev', next: '/app/queue' }) });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/app/queue');
    const set = res.headers.get('Set-Cookie')!;
    expect(set).toMatch(/^ll_session=/);
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Strict');
    expect(set).toContain('Path=/app');
    expect(set).toMatch(/Max-Age=43200/);
    const { cookie, csrf } = await signIn();
    const out = await call('/app/sign-out', { method: 'POST', headers: { ...FORM, Cookie: cookie }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(out.status).toBe(303);
    expect(out.headers.get('Set-Cookie')).toMatch(/ll_session=;.*Max-Age=0/);
  });

  it('never redirects off the dashboard after sign-in', async () => {
    for (const next of ['https://evil.example/', '//evil.example/app', '/appx', '/v1/leads']) {
      const res = await call('/app/sign-in', { method: 'POST', headers: FORM, body: new URLSearchParams({ secret: 'sk_dev', next }) });
      expect(res.headers.get('Location'), next).toBe('/app');
    }
  });

  it('sends pages without a session to sign in, and answers the API paths 401 JSON', async () => {
    for (const path of ['/app', '/app/queue?team=ae', '/app/leads/someone', '/app/deliveries']) {
      const res = await call(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('Location')).toBe(`/app/sign-in?next=${encodeURIComponent(path)}`);
    }
    const api = await call('/app/api/changes');
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ error: 'not_signed_in' });
    // A forged cookie — a well-formed session value, signed as Hono signs, but under a key other than the
    // deployment's — is no session; the same value under the deployment's session key is one.
    const value = `${crypto.randomUUID()}.${Date.now() + 1e6}`;
    const signed = async (key: BufferSource | string) => (await serializeSigned('ll_session', value, key)).split(';')[0];
    const forged = await call('/app', { headers: { Cookie: await signed('sk_another_deployment') } });
    expect(forged.status).toBe(303);
    expect(forged.headers.get('Location')).toMatch(/^\/app\/sign-in/);
    const genuine = await call('/app', { headers: { Cookie: await signed(await sessionKeyOf('sk_dev')) } });
    expect(genuine.status).toBe(200);
  });

  it('ends a session after 12 hours, by the expiry inside its signed value', async () => {
    const { cookie } = await signIn();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 11.9 * 3_600_000);
      expect((await call('/app/deliveries', { headers: { Cookie: cookie } })).status).toBe(200);
      vi.setSystemTime(Date.now() + 0.2 * 3_600_000);
      const res = await call('/app/deliveries', { headers: { Cookie: cookie } });
      expect(res.status).toBe(303);
      expect(res.headers.get('Location')).toMatch(/^\/app\/sign-in/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('sets a strict Content-Security-Policy on every page', async () => {
    const signin = await call('/app/sign-in');
    expect(signin.status).toBe(200);
    const csp = signin.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(await signin.text()).not.toMatch(/<script>|\son[a-z]+=/);
  });
});

describe('dashboard CSRF', () => {
  it('refuses a contact from another origin and one without the token, and records nothing', async () => {
    const { cookie, csrf } = await signIn();
    const id = await hotLead();
    expect(((await (await readLead(id)).json()) as any).sla).toMatchObject({ state: 'open' });
    const path = `/app/leads/${encodeURIComponent(id)}/contacted`;
    const attacks: [string, HeadersInit, Record<string, string>, number][] = [
      ['another origin', { ...FORM, Origin: 'https://evil.example', Cookie: cookie }, { _csrf: csrf }, 403],
      ['another site by Sec-Fetch-Site', { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'cross-site', Cookie: cookie }, { _csrf: csrf }, 403],
      ['no token', { ...FORM, Cookie: cookie }, {}, 403],
      ['a wrong token', { ...FORM, Cookie: cookie }, { _csrf: 'f'.repeat(64) }, 403],
      ['another session’s token', { ...FORM, Cookie: cookie }, { _csrf: (await signIn()).csrf }, 403],
      ['no session', FORM, { _csrf: csrf }, 303],
    ];
    for (const [what, headers, body, status] of attacks) {
      const res = await call(path, { method: 'POST', headers, body: new URLSearchParams(body) });
      expect(res.status, what).toBe(status);
      if (status === 403) expect(((await res.json()) as any).error, what).toMatch(/cross_origin_form|csrf_token_invalid/);
    }
    expect(((await (await readLead(id)).json()) as any).sla).toMatchObject({ state: 'open' });
    // The same form with its token, from the dashboard's own origin: the contact is recorded, as the API records it.
    const ok = await call(path, { method: 'POST', headers: { ...FORM, Cookie: cookie }, body: new URLSearchParams({ _csrf: csrf, back: '/app/queue?team=ae' }) });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('Location')).toMatch(/^\/app\/queue\?team=ae/);
    expect(((await (await readLead(id)).json()) as any).sla).toMatchObject({ state: 'met', metBy: 'dashboard' });
    // Back on the queue, with a notice; its forms send the operator back to the same filters, without the notice.
    const back = await page(ok.headers.get('Location')!, cookie);
    expect(back.status).toBe(200);
    expect(back.html).toContain(`Contact recorded for ${id}.`);
    expect(back.html).not.toMatch(/name="back" value="[^"]*contacted=/);
  });

  it('answers unknown dashboard paths 404 JSON once signed in, and /app/ goes to /app', async () => {
    const { cookie } = await signIn();
    const res = await call('/app/nothing-here', { headers: { Cookie: cookie } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
    expect((await call('/app/static/nothing.js')).status).toBe(404);
    // The files the pages link, under their content hash: cached for good, and nothing else is.
    const html = await (await call('/app/sign-in')).text();
    for (const [, path, hash] of html.matchAll(/(?:src|href)="(\/app\/static\/[a-z.]+)\?v=([0-9a-f]{10})"/g)) {
      const file = await call(`${path}?v=${hash}`);
      expect(file.status, path).toBe(200);
      expect(file.headers.get('Content-Type'), path).toMatch(path.endsWith('.js') ? /^application\/javascript/ : /^text\/css/);
      expect(file.headers.get('Cache-Control'), path).toContain('immutable');
      expect((await call(path)).headers.get('Cache-Control'), path).toBe('no-cache');
    }
    expect([...html.matchAll(/\/app\/static\//g)].length).toBe(4);
    const slash = await call('/app/', { headers: { Cookie: cookie } });
    expect(slash.status).toBe(301);
    expect(slash.headers.get('Location')).toBe('/app');
  });

  it('answers a body that is no form with a 400, not a 500', async () => {
    const { cookie, csrf } = await signIn();
    for (const path of ['/app/sign-in', `/app/leads/x/contacted?_csrf=${csrf}`]) {
      const res = await call(path, { method: 'POST', headers: { 'Content-Type': 'multipart/form-data; boundary=zzz', Origin: BASE, Cookie: cookie }, body: '--zzz\r\nbroken' });
      expect(res.status, path).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_form' });
    }
    const big = await call('/app/sign-in', { method: 'POST', headers: FORM, body: new URLSearchParams({ secret: 'x'.repeat(10_000) }) });
    expect(big.status).toBe(413);
  });
});

describe('dashboard pages', () => {
  it('the overview shows leads per level, the engagement index chart data and the KPIs', async () => {
    const { cookie } = await signIn();
    await hotLead();
    const { status, html, res } = await page('/app', cookie);
    expect(status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    for (const text of ['Leads per level now', 'Engagement index', 'By source', 'Avg days in level', 'Progression rate', 'Conversion rate', 'Days to opportunity']) expect(html).toContain(text);
    const veryHot = /<tr data-level="very_hot">.*?<td class="n" data-count[^>]*>(\d+)<\/td>/.exec(html);
    expect(Number(veryHot?.[1])).toBeGreaterThan(0);
    const island = /<script type="application\/json" id="ei-chart">(.*?)<\/script>/.exec(html)![1];
    const chart = JSON.parse(island);
    expect(chart.series[0].label).toBe('All leads');
    expect(chart.x.length).toBe(chart.series[0].values.length);
    expect(html).toMatch(/<body data-live="\d+\.\d+">/);
  });

  it('the queue lists a team’s leads in priority order with a Contacted form, and pages by the cursor', async () => {
    const { cookie, csrf } = await signIn();
    const id = await hotLead();
    const { status, html } = await page(`/app/queue?team=ae&level=very_hot&q=${encodeURIComponent(id)}`, cookie);
    expect(status).toBe(200);
    expect(html).toContain(`data-lead="${id}"`);
    expect(html).toContain(`action="/app/leads/${id}/contacted"`);
    expect(html).toContain(`name="_csrf" value="${csrf}"`);
    expect(html).toMatch(/<option value="ae" selected="">Account executives<\/option>/);
    // 26 leads under one prefix: a page of 25 with "Next page", and a next page of the one left, none twice.
    const prefix = uid('page');
    const users = Array.from({ length: 26 }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
    expect((await serverBatch(users.map((userId) => ({ type: 'identify', userId, messageId: uid('m'), traits: { email: `${userId}@example.com` } })))).status).toBe(200);
    await Promise.all(users.map((u) => drain(`u:${u}`)));
    const rows = (html: string) => [...html.matchAll(/<tr data-lead="([^"]+)"/g)].map((m) => m[1]);
    const all = await page(`/app/queue?q=${prefix}`, cookie);
    const ids = rows(all.html);
    expect(ids.length).toBe(25);
    const more = /href="(\/app\/queue\?[^"]*cursor=[^"]+)"/.exec(all.html);
    expect(more).not.toBeNull();
    const second = await page(more![1].replaceAll('&amp;', '&'), cookie);
    expect(second.status).toBe(200);
    const next = rows(second.html);
    expect(next.length).toBe(1);
    expect(next.filter((x) => ids.includes(x))).toEqual([]);
    expect([...ids, ...next].sort()).toEqual(users);
    expect(second.html).not.toContain('Next page');
  });

  it('refuses bad queue filters with a 400 naming them', async () => {
    const { cookie } = await signIn();
    for (const [q, path] of [['level=lukewarm', 'level'], ['team=nobody', 'team'], ['cursor=zzz', 'cursor'], ['order=score', 'invalid_query']] as const) {
      const res = await call(`/app/queue?${q}`, { headers: { Cookie: cookie } });
      expect(res.status, q).toBe(400);
      expect(JSON.stringify(await res.json()), q).toContain(path);
    }
  });

  it('the live cursor moves when a lead’s level changes', async () => {
    const { cookie } = await signIn();
    const first = (await (await call('/app/api/changes?since=x', { headers: { Cookie: cookie } })).json()) as { cursor: string; changed: boolean };
    expect(first.changed).toBe(true);
    const same = (await (await call(`/app/api/changes?since=${first.cursor}`, { headers: { Cookie: cookie } })).json()) as { cursor: string; changed: boolean };
    expect(same).toEqual({ cursor: first.cursor, changed: false });
    await hotLead();
    const after = (await (await call(`/app/api/changes?since=${first.cursor}`, { headers: { Cookie: cookie } })).json()) as { cursor: string; changed: boolean };
    expect(after.changed).toBe(true);
    expect(after.cursor).not.toBe(first.cursor);
    // An erasure removes the lead's row and writes nothing newer: the cursor moves all the same.
    const gone = await hotLead();
    const before = (await (await call('/app/api/changes?since=x', { headers: { Cookie: cookie } })).json()) as { cursor: string };
    expect((await call(`/v1/leads/${encodeURIComponent(gone)}`, { method: 'DELETE', headers: { Authorization: SECRET } })).status).toBe(200);
    const erased = (await (await call(`/app/api/changes?since=${before.cursor}`, { headers: { Cookie: cookie } })).json()) as { cursor: string; changed: boolean };
    expect(erased.changed).toBe(true);
    expect(Number(erased.cursor.split('.')[1])).toBeGreaterThan(Number(before.cursor.split('.')[1]));
  });

  it('the live poll reads only an index’s end and one row: no scan, at any number of leads', async () => {
    for (const sql of CURSOR_READS) {
      const { results } = await env.INDEX.prepare(`EXPLAIN QUERY PLAN ${sql}`).all<{ detail: string }>();
      const plan = results.map((r) => r.detail).join('; ');
      expect(plan, sql).toMatch(/^SEARCH (leads USING COVERING INDEX leads_updated|index_removals USING INTEGER PRIMARY KEY \(rowid=\?\))$/);
    }
  });
});

describe('dashboard lead profile', () => {
  it('shows level, scores, fit, traits, timeline with points, ledger, SLA and the notifications sent', async () => {
    const { cookie } = await signIn();
    const id = await hotLead();
    const lead = (await (await readLead(id)).json()) as any;
    const { status, html } = await page(`/app/leads/${encodeURIComponent(id)}`, cookie);
    expect(status).toBe(200);
    expect(html).toContain(`<h1>${id}@example.com</h1>`);
    expect(html).toContain('class="level level-very_hot"');
    expect(html).toContain(`Grade <strong>${lead.fit.grade}</strong>`);
    expect(html).toContain('VP Marketing');
    expect(html).toMatch(/Form Submitted<\/td><td class="n" data-label="Points">\d+/);
    // The ledger: its entries, and their sums, which are the lead's two scores.
    expect(html).toMatch(/<tr data-ledger="rule"><td data-label="When">[^<]+<\/td><td data-label="Kind">rule<\/td><td data-label="Entry">[^<]*Demo request/);
    expect(/<th class="n" data-ledger-sum[^>]*>([^<]*)<\/th>/.exec(html)?.[1]).toBe(`${num(lead.leadScore)} / ${num(lead.engagementScore)}`);
    expect(lead.leadScore).toBeGreaterThan(0);
    expect(html).toMatch(/class="sla-open">ae: very_hot, open/);
    // The account executives and their manager were told: the deliveries of this lead, and only its.
    expect(html).toMatch(/<td data-label="Type">lead.level_changed<\/td><td data-label="Team">(ae|manager)<\/td>/);
    // The chart: the level history as steps, and both scores as the ledger builds them, ending at the lead's scores.
    const chart = island(html, 'lead-chart');
    expect(chart.series.map((x: any) => x.label.split(' (')[0])).toEqual(['Level', 'Lead score', 'Engagement score']);
    expect(chart.series[0].values.at(-1)).toBe(4);
    expect(chart.series[1].values.at(-1)).toBe(Math.round(lead.leadScore * 10) / 10);
    expect(chart.series[2].values.at(-1)).toBe(Math.round(lead.engagementScore * 10) / 10);
    for (const x of chart.series) expect(x.values.length).toBe(chart.x.length);
    expect(Array.isArray(chart.markers)).toBe(true);
    // The conversion probability, or why there is none, as the lead read gives it.
    // (The fit the first read started is stored by now: read again for the one the page showed.)
    const { conversionProbability: p, conversionModel: m } = (await (await readLead(id)).json()) as any;
    const shown = /<p data-probability="[^"]*">([^<]*)<\/p>/.exec(html)![1].replaceAll('&quot;', '"');
    expect(shown).toBe(p === null ? `No conversion probability: ${m.reason}` : `${Math.round(p * 100)} % chance to convert (calibrated on ${m.conversions} outcomes of ${m.leads} leads, fitted ${m.fittedAt.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC')})`);
    expect(html).toContain(`<dd>b2b-default v${lead.model.version}</dd>`);
  });

  it('answers 404 for an unknown lead and 400 for an id too long', async () => {
    const { cookie } = await signIn();
    expect((await call('/app/leads/nobody-at-all', { headers: { Cookie: cookie } })).status).toBe(404);
    expect((await call(`/app/leads/${'x'.repeat(3000)}`, { headers: { Cookie: cookie } })).status).toBe(400);
  });
});

describe('dashboard XSS', () => {
  it('renders traits a site key set (script tags, a closing </script>) as text on every page', async () => {
    const { cookie } = await signIn();
    const anonymousId = uid('xss');
    const nasty = { name: '<script>alert(1)</script>', title: '</script><script>alert(2)</script>', company: '"><img src=x onerror=alert(3)>', '<b>key</b>': 'x' };
    const res = await browserBatch([
      { type: 'identify', anonymousId, messageId: uid('m'), traits: nasty },
      { type: 'page', anonymousId, messageId: uid('m'), properties: { path: '/</script><script>alert(4)</script>' } },
    ]);
    expect(res.status).toBe(200);
    await drain(`a:${anonymousId}`);
    const pages = [`/app/leads/${encodeURIComponent(anonymousId)}`, `/app/queue?q=${encodeURIComponent(anonymousId)}`, '/app'];
    for (const path of pages) {
      const { status, html } = await page(path, cookie);
      expect(status, path).toBe(200);
      expect(html, path).not.toContain('<script>alert');
      expect(html, path).not.toContain('<img src=x');
      expect(html, path).not.toContain('<b>key</b>');
      // Only the page's own scripts: two external ones and the JSON islands.
      for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag, path).toMatch(/^<script (src="\/app\/static\/[a-z.]+\?v=[0-9a-f]{10}" defer=""|type="application\/json" id="[a-z-]+")>$/);
    }
    const profile = (await page(pages[0], cookie)).html;
    expect(profile).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(profile).toContain('&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
  });
});

describe('inline chart data', () => {
  it('cannot close its script element or start a comment, and parses back to the same value', () => {
    const value = { label: '</script><script>alert(1)</script><!--', sep: '\u2028\u2029', amp: 'a&b>' };
    const text = inlineJson(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('dashboard deliveries', () => {
  it('lists deliveries by status, retries a failed one and sends a team test, each only with the form token', async () => {
    const { cookie, csrf } = await signIn();
    await mode('manager', 410);
    let id: string;
    try {
      id = await hotLead();
    } finally {
      await mode('manager', 200);
    }
    const failed = await page('/app/deliveries?status=failed', cookie);
    expect(failed.status).toBe(200);
    const row = new RegExp(`<tr data-delivery="([^"]+)"><td data-label="When">[^<]*</td><td data-label="Lead"><a href="/app/leads/${id}">`).exec(failed.html);
    expect(row).not.toBeNull();
    const delivery = row![1];
    expect(failed.html).toContain(`action="/app/deliveries/${delivery}/retry"`);
    expect(failed.html).not.toContain('class="status-delivered"');
    // Without the token: refused, nothing sent.
    const forged = await call(`/app/teams/manager/test`, { method: 'POST', headers: { ...FORM, Cookie: cookie }, body: new URLSearchParams({}) });
    expect(forged.status).toBe(403);
    const noRetry = await call(`/app/deliveries/${delivery}/retry`, { method: 'POST', headers: { ...FORM, Origin: 'https://evil.example', Cookie: cookie }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(noRetry.status).toBe(403);
    const got = async () => (await received('manager', id)).filter((r) => r.status === 200);
    expect(await got()).toEqual([]);
    // The test send answers 200, which enables the destination the 410 disabled; then the retry gets through.
    const test = await call(`/app/teams/manager/test`, { method: 'POST', headers: { ...FORM, Cookie: cookie }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(test.status).toBe(303);
    expect(test.headers.get('Location')).toBe('/app/deliveries?tested=manager&ok=1');
    expect((await page(test.headers.get('Location')!, cookie)).html).toContain('Test sent to Sales manager: every destination answered.');
    const retried = await call(`/app/deliveries/${delivery}/retry`, { method: 'POST', headers: { ...FORM, Cookie: cookie }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(retried.status).toBe(303);
    expect(retried.headers.get('Location')).toBe(`/app/deliveries?retried=${delivery}`);
    expect((await page(retried.headers.get('Location')!, cookie)).html).toContain(`Delivery ${delivery} sent again: delivered.`);
    expect((await got()).length).toBe(1);
    expect((await call('/app/deliveries/nope/retry', { method: 'POST', headers: { ...FORM, Cookie: cookie }, body: new URLSearchParams({ _csrf: csrf }) })).status).toBe(404);
    expect((await call('/app/deliveries?status=lost', { headers: { Cookie: cookie } })).status).toBe(400);
  });
});

describe('dashboard host (the marketing site must not share its origin)', () => {
  const secret = `sk_live_${'5e'.repeat(16)}`;
  const production = { ENVIRONMENT: 'production', SECRET_KEYS: secret, SITE_KEYS: JSON.stringify({ [`pk_live_${'3a'.repeat(16)}`]: { origins: ['https://www.example.com'] } }) };
  const send = (url: string, init: RequestInit, vars: Record<string, string | undefined>) => app.fetch(new Request(url, { redirect: 'manual', ...init }), { ...env, ...production, ...vars } as never, createExecutionContext());
  const ops = { PUBLIC_URL: 'https://ops.example.com' };
  const form = (origin: string, cookie = '') => ({ 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin, ...(cookie ? { Cookie: cookie } : {}) });

  it('answers /app only on the host of PUBLIC_URL: a script on the edge-proxied site reads nothing and posts nothing', async () => {
    const signIn = await send('https://ops.example.com/app/sign-in', { method: 'POST', headers: form('https://ops.example.com'), body: new URLSearchParams({ secret, next: '/app' }) }, ops);
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get('Set-Cookie')!.split(';')[0];
    const home = await send('https://ops.example.com/app', { headers: { Cookie: cookie } }, ops);
    expect(home.status).toBe(200);
    const csrf = /name="_csrf" value="([0-9a-f]{64})"/.exec(await home.text())![1];
    const id = await hotLead();
    // The site's own host routes to the same Worker (edge mode): there the dashboard does not exist, with the
    // operator's cookie or without, for a read, the live poll, a sign-in or a form with a valid token.
    const site = 'https://www.example.com';
    const attacks: [string, RequestInit][] = [
      ['/app', { headers: { Cookie: cookie } }],
      ['/app/', { headers: { Cookie: cookie } }],
      [`/app/queue?q=${encodeURIComponent(id)}`, { headers: { Cookie: cookie } }],
      [`/app/leads/${encodeURIComponent(id)}`, { headers: { Cookie: cookie } }],
      ['/app/api/changes', { headers: { Cookie: cookie } }],
      ['/app/sign-in', {}],
      ['/app/sign-in', { method: 'POST', headers: form(site), body: new URLSearchParams({ secret }) }],
      [`/app/leads/${encodeURIComponent(id)}/contacted`, { method: 'POST', headers: form(site, cookie), body: new URLSearchParams({ _csrf: csrf }) }],
      ['/app/static/app.js', {}],
    ];
    for (const [path, init] of attacks) {
      const res = await send(site + path, init, ops);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('Set-Cookie'), path).toBeNull();
      const body = await res.json<{ error: string; message: string }>();
      expect(body.error, path).toBe('not_found');
      expect(body.message, path).not.toContain('ops.example.com');
    }
    expect(((await (await readLead(id)).json()) as any).sla).toMatchObject({ state: 'open' });
    // The site itself is still served there.
    expect((await send(`${site}/`, {}, ops)).status).toBe(200);
  });

  it('fails closed without PUBLIC_URL (or with one that is no URL): 404 naming the setting', async () => {
    for (const vars of [{ PUBLIC_URL: undefined }, { PUBLIC_URL: '' }, { PUBLIC_URL: 'ops.example.com' }]) {
      for (const path of ['/app', '/app/sign-in', '/app/api/changes']) {
        const res = await send(`https://ops.example.com${path}`, {}, vars);
        expect(res.status, `${vars.PUBLIC_URL} ${path}`).toBe(404);
        const body = await res.json<{ error: string; message: string }>();
        expect(body.error).toBe('dashboard_not_configured');
        expect(body.message).toContain('PUBLIC_URL');
      }
    }
  });
});

describe('dashboard redirects from a link', () => {
  const hostile = ['/app/\0', '/app/\0x', '/app/%00', '/app/\u0007x', '/app/..//evil.example', '/app/../v1/leads', '/\\evil.example', '/\\\\evil.example/app', '/app\\..\\..\\evil', '%2f%2fevil.example/app', '/%2f%2fevil.example', '\t//evil.example/app', '/app\t/x', '/\t/evil.example/app', '/app/\r\nSet-Cookie: x=1', 'javascript:alert(1)', `${'/app/x'.repeat(500)}`];

  it('never answers 5xx nor leaves the dashboard, whatever next= a sign-in carries', async () => {
    const { cookie } = await signIn();
    for (const next of hostile) {
      const post = await call('/app/sign-in', { method: 'POST', headers: FORM, body: new URLSearchParams({ secret: 'sk_dev', next }) });
      expect(post.status, JSON.stringify(next)).toBe(303);
      expectOnDashboard(post.headers.get('Location'), JSON.stringify(next));
      const get = await call(`/app/sign-in?next=${encodeURIComponent(next)}`, { headers: { Cookie: cookie } });
      expect(get.status, JSON.stringify(next)).toBe(303);
      expectOnDashboard(get.headers.get('Location'), JSON.stringify(next));
      // Without a session the page renders, with a next that is a dashboard path.
      const form = await call(`/app/sign-in?next=${encodeURIComponent(next)}`);
      expect(form.status, JSON.stringify(next)).toBe(200);
      expectOnDashboard(/name="next" value="([^"]*)"/.exec(await form.text())![1].replaceAll('&amp;', '&'), JSON.stringify(next));
    }
    // A path of the dashboard comes back as itself, re-serialized.
    const ok = await call('/app/sign-in', { method: 'POST', headers: FORM, body: new URLSearchParams({ secret: 'sk_dev', next: '/app/queue?team=ae&q=a b' }) });
    expect(ok.headers.get('Location')).toBe('/app/queue?team=ae&q=a%20b');
    const nul = await call('/app/sign-in', { method: 'POST', headers: FORM, body: new URLSearchParams({ secret: 'sk_dev', next: '/app/\0x' }) });
    expect(nul.headers.get('Location')).toBe('/app/%00x');
  });

  it('never answers 5xx nor leaves the dashboard, whatever back= a Contacted form carries', async () => {
    const { cookie, csrf } = await signIn();
    const id = await hotLead();
    for (const back of hostile) {
      const res = await call(`/app/leads/${encodeURIComponent(id)}/contacted`, { method: 'POST', headers: { ...FORM, Cookie: cookie }, body: new URLSearchParams({ _csrf: csrf, back }) });
      expect(res.status, JSON.stringify(back)).toBe(303);
      expectOnDashboard(res.headers.get('Location'), JSON.stringify(back));
    }
  });
});

describe('dashboard notices from a link', () => {
  it('say nothing for a lead or delivery that does not exist, and never echo the link’s text', async () => {
    const { cookie } = await signIn();
    const lie = 'Your session expired, call +1 555 0100 now';
    for (const path of [`/app/queue?contacted=${encodeURIComponent(lie)}`, `/app/deliveries?retried=${encodeURIComponent(lie)}&outcome=delivered`, `/app/queue?contacted=${'x'.repeat(3000)}`]) {
      const { status, html } = await page(path, cookie);
      expect(status, path).toBe(200);
      expect(html, path).not.toContain('class="notice"');
      expect(html, path).not.toContain('call +1 555');
    }
  });
});

describe('dashboard pages are standards-mode documents', () => {
  it('starts every page with <!DOCTYPE html>', async () => {
    const { cookie } = await signIn();
    const id = await hotLead();
    for (const path of ['/app/sign-in', '/app', '/app/queue', `/app/leads/${encodeURIComponent(id)}`, '/app/deliveries']) {
      const html = await (await call(path, { headers: path === '/app/sign-in' ? {} : { Cookie: cookie } })).text();
      expect(html.slice(0, 40), path).toMatch(/^<!DOCTYPE html><html lang="en">/);
    }
  });
});

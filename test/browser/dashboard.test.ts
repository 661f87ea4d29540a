/**
 * The operator dashboard in Chromium, against a collector of its own as `npm start` runs it, filled with the
 * simulated population through the real ingest path: sign-in, every page showing that data, a level change made
 * through the API appearing on the open overview and queue without a reload (after a failed refresh too), a
 * cross-site form refused by its Origin, polling stopped once signed out; and
 * screenshots of every page at 1280 and 390 px in test-artifacts/screenshots/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, type Local } from '../../scripts/local-collector.js';
import { simulate } from '../../scripts/simulate.js';
import { startReceiver } from '../e2e/receiver.js';
import { eventually, launch, pageErrors, site, type Browser, type Page } from './harness.js';

const SHOTS = 'test-artifacts/screenshots';
const SIMULATED = 300;
const AUTH = { Authorization: 'Bearer sk_dev', 'Content-Type': 'application/json' };
const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;

let local: Local;
let browser: Browser;
let teamsDir: string;

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(local.url + path, { ...init, headers: AUTH });
  expect(res.status, path).toBeLessThan(300);
  return (await res.json()) as any;
};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // Notifications to a loopback receiver (nothing leaves the machine), as test/e2e/collector.ts sets it up.
  const receiver = await startReceiver();
  teamsDir = mkdtempSync(join(tmpdir(), 'leadlevel-dash-teams-'));
  writeFileSync(join(teamsDir, 'dash.teams.json'), readFileSync('test/worker/teams.fixture.json', 'utf8').replaceAll('RECEIVER', receiver));
  [local, browser] = await Promise.all([startLocal([], { LEADLEVEL_TEAMS_FILE: join(teamsDir, 'dash.teams.json') }), launch()]);
  const summary = await simulate({ url: local.url, seed: 13, leads: SIMULATED, days: 90, now: Date.now() });
  expect(summary.rejected).toBe(0);
  // Every simulated lead is a row once its outbox has written the index.
  await eventually(async () => expect((await api('/v1/insights/levels')).total.now).toBeGreaterThanOrEqual(summary.leads), 120_000);
}, 480_000);

afterAll(async () => {
  await browser?.close();
  local?.stop();
  if (teamsDir) rmSync(teamsDir, { recursive: true, force: true });
});

/** A signed-in page at a width; CSP violations count as page errors. */
async function signedIn(width: keyof typeof WIDTHS) {
  const context = await browser.newContext({ viewport: WIDTHS[width] });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = pageErrors(page);
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) errors.push(new Error(m.text()));
  });
  await page.goto(`${local.url}/app/queue`);
  expect(new URL(page.url()).pathname).toBe('/app/sign-in');
  await page.getByLabel(/Operator secret/).fill('sk_wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/not a secret key/);
  await page.getByLabel(/Operator secret/).fill('sk_dev');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${local.url}/app/queue`);
  return { context, page, errors };
}

/** The whole page, and on a phone also what the first screen shows. */
async function shot(page: Page, name: string, width: string) {
  await page.screenshot({ path: `${SHOTS}/${name}-${width}.png`, fullPage: true });
  if (width === 'phone') await page.screenshot({ path: `${SHOTS}/${name}-phone-screen.png` });
}
const chartDrawn = (page: Page) => page.locator('[data-chart] .uplot canvas').first().waitFor();

describe('the dashboard in Chromium', () => {
  for (const width of ['desktop', 'phone'] as const) {
    // The model page's preview replays every simulated lead's history.
    it(`signs in and shows every page with the simulated data (${width})`, { timeout: 180_000 }, async () => {
      const { context, page, errors } = await signedIn(width);
      // The queue: a team's leads, highest level first.
      await page.getByLabel('Team').selectOption('sdr');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/team=sdr/);
      expect(await page.locator('tr[data-lead]').count()).toBeGreaterThan(0);
      await shot(page, 'queue', width);

      await page.getByRole('link', { name: 'Overview' }).click();
      await chartDrawn(page);
      const counts = await page.locator('td[data-count]').allInnerTexts();
      expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(SIMULATED);
      expect(await page.locator('#src-h + .table-wrap tbody tr').count()).toBeGreaterThanOrEqual(4);
      await shot(page, 'overview', width);

      // A lead from the queue: its chart, its timeline with points.
      await page.goto(`${local.url}/app/queue?level=very_hot`);
      await page.locator('tr[data-lead] a').first().click();
      await page.waitForURL(/\/app\/leads\//);
      await chartDrawn(page);
      expect(await page.locator('#tl-h + .table-wrap tbody tr').count()).toBeGreaterThan(0);
      expect(await page.getByRole('heading', { name: 'Fit' }).count()).toBe(1);
      // The ledger's sums are the lead's scores, as the API reads them.
      const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      const read = await api(`/v1/leads/${encodeURIComponent(id)}`);
      const [leadSum, engagementSum] = (await page.locator('[data-ledger-sum]').innerText()).split(' / ').map(Number);
      expect(leadSum).toBeCloseTo(read.leadScore, 1);
      expect(engagementSum).toBeCloseTo(read.engagementScore, 1);
      expect(await page.locator('tr[data-ledger]').count()).toBeGreaterThan(0);
      await shot(page, 'lead', width);

      await page.getByRole('link', { name: 'Deliveries' }).click();
      expect(await page.locator('tr[data-delivery]').count()).toBeGreaterThan(0);
      await shot(page, 'deliveries', width);

      // The model page: the versions; a draft saved from the editor (the published body as it is prefilled) and
      // its preview, which the page polls for until the run is complete — no reload.
      await page.getByRole('link', { name: 'Model' }).click();
      await page.waitForURL(/\/app\/model$/);
      expect(await page.locator('tr[data-version]').count()).toBeGreaterThan(0);
      await page.getByLabel('Note (why)').fill(`as published, from the ${width} walk`);
      await page.getByRole('button', { name: 'Save draft' }).click();
      await page.waitForURL(/done=saved/);
      await page.locator('tr[aria-current]').getByRole('button', { name: 'Preview' }).click();
      await page.waitForURL(/done=preview/);
      await page.locator('#preview [data-status="complete"]').waitFor({ timeout: 90_000 });
      // The same model: every lead keeps its level.
      expect(await page.locator('[data-preview-sentence]').innerText()).toMatch(/^No lead of \d+ changes level\. 0 of \d+ leads affected\.$/);
      await shot(page, 'model', width);

      // Nothing overflows the phone's width.
      if (width === 'phone') expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      expect(errors).toEqual([]);
      await context.close();
    });
  }

  it('shows a level change made through the API on the open overview and queue, without a reload', async () => {
    const { context, page: queue, errors } = await signedIn('desktop');
    const userId = `dash-live-${Date.now()}`;
    await queue.goto(`${local.url}/app/queue?level=very_hot`);
    expect(await queue.locator(`tr[data-lead="${userId}"]`).count()).toBe(0);
    // The keyboard on a lead's Contacted button: it stays there when the list is swapped under it.
    const focused = await queue.locator('tr[data-lead]').first().getAttribute('data-lead');
    await queue.locator('tr[data-lead]').first().getByRole('button', { name: /contacted/i }).focus();
    const overview = await context.newPage();
    await overview.goto(`${local.url}/app`);
    await chartDrawn(overview);
    const veryHot = () => overview.locator('tr[data-level="very_hot"] td[data-count]').innerText().then(Number);
    const before = await veryHot();
    // Marks on both windows: a reload would lose them.
    for (const p of [queue, overview]) await p.evaluate(() => ((window as any).__stayed = true));

    await api('/v1/batch', {
      method: 'POST',
      body: JSON.stringify({ batch: [{ type: 'identify', userId, traits: { email: `${userId}@example.com` } }, { type: 'track', userId, event: 'Form Submitted', properties: { kind: 'demo_request' } }] }),
    });
    await eventually(async () => expect(await veryHot()).toBe(before + 1), 20_000);
    await eventually(async () => expect(await queue.locator(`tr[data-lead="${userId}"]`).count()).toBe(1), 20_000);
    expect(await queue.locator(`tr[data-lead="${userId}"] .level`).innerText()).toBe('Very Hot');
    expect(await queue.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-lead'))).toBe(focused);
    for (const p of [queue, overview]) expect(await p.evaluate(() => (window as any).__stayed)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('refuses a contact posted from another site’s page with the victim’s own token, by its Origin, and records nothing', async () => {
    const { context, page } = await signedIn('desktop');
    const [lead] = (await api('/v1/leads?level=very_hot&limit=1')).leads;
    const before = (await api(`/v1/leads/${encodeURIComponent(lead.id)}`)).slas;
    // The attacker has the victim's valid token (say, leaked): only the Origin layer stands in the way. The page
    // is on another port of 127.0.0.1, the same site, so the SameSite=Strict cookie is sent with the form too.
    await page.goto(`${local.url}/app`);
    const token = await page.locator('input[name="_csrf"]').first().inputValue();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const html = `<!doctype html><form id="f" method="post" action="${local.url}/app/leads/${encodeURIComponent(lead.id)}/contacted"><input name="_csrf" value="${token}"><button>win a prize</button></form>`;
    const evil = await site({ '/evil': { type: 'text/html', body: html } });
    try {
      await page.goto(`${evil.url}/evil`);
      const [answer] = await Promise.all([page.waitForResponse((r) => r.url().includes('/contacted')), page.getByRole('button', { name: 'win a prize' }).click()]);
      expect(answer.status()).toBe(403);
      expect((await answer.json()).error).toBe('cross_origin_form');
      expect((await api(`/v1/leads/${encodeURIComponent(lead.id)}`)).slas).toEqual(before);
    } finally {
      await evil.close();
      await context.close();
    }
  });

  it('stops polling and says so when the session ends, with a link to sign in again', async () => {
    const { context, page, errors } = await signedIn('desktop');
    await page.goto(`${local.url}/app/queue?level=hot`);
    let polls = 0;
    page.on('request', (r) => {
      if (r.url().includes('/app/api/changes')) polls++;
    });
    await context.clearCookies();
    const notice = page.locator('#signed-out');
    await notice.waitFor();
    expect(await notice.innerText()).toBe('Signed out — sign in again');
    expect(await notice.getByRole('link', { name: 'sign in again' }).getAttribute('href')).toBe(`/app/sign-in?next=${encodeURIComponent('/app/queue?level=hot')}`);
    const after = polls;
    await page.waitForTimeout(7_000);
    expect(polls).toBe(after);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('keeps its cursor when a refresh fails, and shows the change at the next poll', async () => {
    const { context, page } = await signedIn('desktop');
    await page.goto(`${local.url}/app/queue?level=very_hot`);
    const cursor = await page.locator('body').getAttribute('data-live');
    let failed = 0;
    const failRefresh = (url: URL) => url.pathname === '/app/queue';
    await page.route(failRefresh, (route) => {
      failed++;
      return route.fulfill({ status: 503, contentType: 'text/plain', body: 'unavailable' });
    });
    const userId = `dash-retry-${Date.now()}`;
    await api('/v1/batch', {
      method: 'POST',
      body: JSON.stringify({ batch: [{ type: 'identify', userId, traits: { email: `${userId}@example.com` } }, { type: 'track', userId, event: 'Form Submitted', properties: { kind: 'demo_request' } }] }),
    });
    await eventually(async () => expect(failed).toBeGreaterThan(0), 20_000);
    expect(await page.locator('body').getAttribute('data-live')).toBe(cursor);
    expect(await page.locator(`tr[data-lead="${userId}"]`).count()).toBe(0);
    await page.unroute(failRefresh);
    await eventually(async () => expect(await page.locator(`tr[data-lead="${userId}"]`).count()).toBe(1), 20_000);
    expect(await page.locator('body').getAttribute('data-live')).not.toBe(cursor);
    await context.close();
  });
});

/**
 * A newcomer's walk through the demo site, in Chromium, served by the collector as `npm start` serves it:
 * cold on arrival, hot after reading pricing for three minutes, very_hot after requesting a demo. Screenshots
 * of each step are kept in test-results/demo/.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { collector, eventually, launch, personPage, type Browser, type Page } from './harness.js';

const SHOTS = 'test-results/demo';
let browser: Browser;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
});
afterAll(() => browser?.close());

const shownVariant = (page: Page) => page.locator('.cta-variant:visible').first().getAttribute('data-variant');
const levelAttr = (page: Page) => page.evaluate(() => document.documentElement.dataset.llLevel);

it('from cold to very_hot, with the call to action following, first paint included', async () => {
  const step = (s: string) => console.log('[demo walk]', s);
  const { context, page, errors } = await personPage(browser);

  await page.goto(`${collector}/`);
  await eventually(async () => expect(await levelAttr(page)).toBe('cold'));
  // The hero slot holds what leadlevel.site.json serves for cold.
  await expect.poll(() => page.locator('[data-ll-slot="hero-cta"]').innerText()).toMatch(/The Activation Brief/);
  await page.screenshot({ path: `${SHOTS}/1-home-cold.png` });
  step('home cold');

  // Read the pricing page for three minutes: the Hot trigger fires while still reading.
  await page.goto(`${collector}/pricing`);
  // The pricing view itself makes the visitor warm; waiting for it also means the tag is running and timing the
  // read (on a loaded machine the tag can start after the page's load event, and would miss a clock jump).
  await eventually(async () => expect(await levelAttr(page)).toBe('warm'));
  await page.clock.runFor(181_000);
  await eventually(async () => expect(await levelAttr(page)).toBe('hot'));
  expect(await shownVariant(page)).toBe('hot');
  await page.screenshot({ path: `${SHOTS}/2-pricing-hot.png` });
  step('pricing hot');

  // The next page is personalized at the edge: its very first HTML already says hot.
  const res = await page.goto(`${collector}/features`);
  const firstPaint = await res!.text();
  expect(firstPaint).toMatch(/<html[^>]* data-ll-level="hot"/);
  expect(firstPaint).toMatch(/data-variant="cold" style="display:none"/);
  expect(firstPaint).not.toMatch(/data-variant="hot" style="display:none"/);
  expect(await shownVariant(page)).toBe('hot');

  // Request a demo.
  await page.goto(`${collector}/demo`);
  await page.fill('#demo-form input[type=email]', `newcomer-${Date.now()}@example.com`);
  for (const input of await page.locator('#demo-form input[type=text]').all()) await input.fill('Ada Lovelace');
  await page.locator('#demo-form select').first().selectOption({ index: 1 }).catch(() => {});
  await page.locator('#demo-form textarea').first().fill('We want to see activation by account.').catch(() => {});
  step('form filled');
  await page.click('#demo-form button[type=submit]');
  step('submitted');
  await page.waitForURL('**/thank-you**');
  await page.clock.runFor(2_000);
  await eventually(async () => expect(await levelAttr(page)).toBe('very_hot'));
  await page.goto(`${collector}/`);
  expect(await levelAttr(page)).toBe('very_hot');
  await expect.poll(() => page.locator('[data-ll-slot="hero-cta"]').innerText()).toMatch(/account executive will call within 4 hours/i);
  await page.clock.runFor(3_000);
  await expect.poll(() => page.locator('.ll-badge').innerText()).toMatch(/Very Hot/);
  await page.screenshot({ path: `${SHOTS}/3-home-very-hot.png` });
  expect(errors).toEqual([]);
  await context.close();
});

/**
 * The personalization holdout in Chromium, with the SDK and the collector as `npm start` runs them (a holdout of
 * one half set for this collector with PERSONALIZATION_HOLDOUT): a held-out visitor who reads pricing for three
 * minutes is hot for sales, and keeps seeing the default content — at the edge, after the batch answer, and in
 * `leadlevel.level()` — while a personalized one sees the hot content. What each saw is recorded.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocal, type Local } from '../../scripts/local-collector.js';
import { DEV_HOLDOUT_SECRET, heldOut } from '../../shared/holdout.js';
import { eventually, launch, personPage, type Browser } from './harness.js';

const SECRET = { Authorization: 'Basic ' + Buffer.from('sk_dev:').toString('base64') };
let browser: Browser;
let local: Local;
beforeAll(async () => {
  [browser, local] = await Promise.all([launch(), startLocal(['--var', 'PERSONALIZATION_HOLDOUT:0.5'])]);
}, 90_000);
afterAll(async () => {
  await browser?.close();
  local?.stop();
});

/** A visitor's walk: home, then three minutes on pricing, then home again. */
async function walk(held: boolean) {
  for (;;) {
    const { context, page, errors } = await personPage(browser);
    await page.goto(`${local.url}/`);
    const aid = await eventually(async () => {
      const id = await page.evaluate(() => localStorage.getItem('ll_aid'));
      expect(id).toBeTruthy();
      return id!;
    });
    // Half the visitors are held out: a new browser until this one is in the group the test wants.
    if ((await heldOut(DEV_HOLDOUT_SECRET, aid, 0.5)) !== held) {
      await context.close();
      continue;
    }
    await page.goto(`${local.url}/pricing`);
    await eventually(async () => expect(await page.evaluate(() => (window as any).leadlevel?.level?.())).toBeTruthy());
    await page.clock.runFor(181_000);
    const lead = await eventually(async () => {
      const body = await (await fetch(`${local.url}/v1/leads/${aid}`, { headers: SECRET })).json();
      expect(body.level).toBe('hot');
      return body;
    });
    // Sent while on pricing: the answer to it decides what this page shows now.
    await page.waitForTimeout(500);
    const onPricing = { level: await page.evaluate(() => (window as any).leadlevel.level()), attr: await page.evaluate(() => document.documentElement.dataset.llLevel) };
    const res = await page.goto(`${local.url}/`);
    const firstPaint = await res!.text();
    const slot = await page.locator('[data-ll-slot="hero-cta"]').innerText();
    const viewed = await eventually(async () => {
      const { events } = await (await fetch(`${local.url}/v1/leads/${aid}/events?limit=100`, { headers: SECRET })).json();
      const v = events.filter((e: any) => e.event === 'Experience Viewed');
      expect(v.some((e: any) => e.properties.slot === 'hero-cta' && e.properties.level === 'hot')).toBe(true);
      return v;
    });
    expect(errors).toEqual([]);
    await context.close();
    return { lead, onPricing, firstPaint, slot, viewed };
  }
}

it('a held-out hot visitor sees the default content everywhere, and the edge records it', async () => {
  const w = await walk(true);
  expect(w.lead.level).toBe('hot');
  expect(w.onPricing).toEqual({ level: 'cold', attr: 'cold' });
  expect(w.firstPaint).toMatch(/<html[^>]* data-ll-level="cold"/);
  expect(w.slot).toMatch(/The Activation Brief/);
  expect(w.viewed.filter((e: any) => e.properties.slot === 'hero-cta').at(-1).properties).toMatchObject({ slot: 'hero-cta', variant: 'cold', holdout: true, level: 'hot' });
});

it('a personalized hot visitor sees the hot content', async () => {
  const w = await walk(false);
  expect(w.onPricing).toEqual({ level: 'hot', attr: 'hot' });
  expect(w.firstPaint).toMatch(/<html[^>]* data-ll-level="hot"/);
  expect(w.slot).toMatch(/See Beacon on your own funnel/);
  expect(w.viewed.filter((e: any) => e.properties.slot === 'hero-cta').at(-1).properties).toMatchObject({ slot: 'hero-cta', variant: 'hot', holdout: false, level: 'hot' });
});

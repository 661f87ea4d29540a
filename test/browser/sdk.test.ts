/** The SDK in real headless Chromium against the real local collector. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { DEV_IDENTITY_SECRET } from '../../worker/identity-proof.js';
import { anonymousId, eventually, events, launch, lead, pageErrors, site, switchableCollector, type Browser, type Page } from './harness.js';

let browser: Browser;
let web: Awaited<ReturnType<typeof site>>;
beforeAll(async () => {
  [browser, web] = await Promise.all([launch(), site()]);
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function fresh(init?: string): Promise<Page> {
  const context = await browser.newContext();
  if (init) await context.addInitScript(init);
  return context.newPage();
}
const visible = (page: Page, id: string) => page.locator(`#${id}`).isVisible();

describe('capture', () => {
  it('a page view, calls queued before the script arrived, and the level in the page', async () => {
    const page = await fresh();
    const errors = pageErrors(page);
    await page.goto(`${web.url}/index?utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch`, { referer: 'https://www.google.com/' });
    const aid = await eventually(async () => {
      const id = await anonymousId(page);
      expect(id).not.toBe('');
      return id;
    });
    const evs = await eventually(async () => {
      const e = await events(aid);
      expect(e.map((x) => x.event ?? x.type).sort()).toEqual(['Queued Before Load', 'page']);
      return e;
    });
    const pv = evs.find((e) => e.type === 'page');
    expect(pv.properties).toMatchObject({
      path: '/index',
      title: 'Test site',
      url: `${web.url}/index?utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch`,
      referrer: 'https://www.google.com/',
      campaign: { source: 'newsletter', medium: 'email', name: 'spring-launch' },
    });
    await eventually(async () => expect(await page.evaluate(() => (window as any).levels)).toEqual(['cold']));
    expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('cold');
    expect(await visible(page, 'cta-cold')).toBe(true);
    expect(await visible(page, 'cta-hot')).toBe(false);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('a demo-request form makes the lead very_hot, and the content switches in the same session', async () => {
    const page = await fresh();
    await page.goto(`${web.url}/index`);
    await eventually(async () => expect(await visible(page, 'cta-cold')).toBe(true));
    const email = `ada-${Date.now()}@example.com`;
    await page.fill('#email', email);
    await page.click('#submit');
    await eventually(async () => expect(await visible(page, 'cta-very-hot')).toBe(true));
    expect(await visible(page, 'cta-cold')).toBe(false);
    expect(await page.evaluate(() => (window as any).leadlevel.level())).toBe('very_hot');
    // The email identified the lead; the anonymous history came with it.
    const { body } = await eventually(async () => {
      const r = await lead(email);
      expect(r.status).toBe(200);
      return r;
    });
    expect(body).toMatchObject({ id: email, level: 'very_hot', anonymousIds: [await anonymousId(page)] });
    const all = JSON.stringify(await events(email));
    expect(all).toContain('"kind":"demo_request"');
    // Only the email field is read: never passwords, hidden fields or anything else in the form.
    for (const secret of ['hunter2', 's3cret', '4111111111111111', 'Ada']) expect(all).not.toContain(secret);
    await page.context().close();
  });

  it('counts only visible time toward pricing dwell, and fires the Hot trigger while the visitor reads', async () => {
    // Page Visibility under test control: a real tab switch, as far as the page can tell.
    const page = await fresh(`
      let hidden = false;
      Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible') });
      Object.defineProperty(Document.prototype, 'hidden', { get: () => hidden });
      window.__setHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
    `);
    await page.clock.install();
    await page.goto(`${web.url}/pricing`);
    const aid = await eventually(async () => {
      const id = await anonymousId(page);
      expect(id).not.toBe('');
      return id;
    });
    const dwell = async () => (await events(aid)).filter((e) => e.event === 'Page Engaged').map((e) => e.properties.seconds as number);
    await page.clock.runFor(100_000); // 100 s visible
    await page.evaluate(() => (window as any).__setHidden(true));
    await page.clock.runFor(200_000); // 200 s in another tab: not counted
    await page.evaluate(() => (window as any).__setHidden(false));
    await page.clock.runFor(70_000); // 170 s visible in all
    await eventually(async () => expect(Math.max(...(await dwell()))).toBe(165));
    expect((await lead(aid)).body.level).not.toBe('hot');
    await page.clock.runFor(10_000); // 180 s visible, still on the page
    await eventually(async () => expect(Math.max(...(await dwell()))).toBe(180));
    await eventually(async () => expect((await lead(aid)).body.level).toBe('hot'));
    expect((await dwell()).includes(100)).toBe(true); // reported when the tab was hidden
    await eventually(async () => expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('hot'));
    await page.context().close();
  });

  it('the ESM build works for sites that bundle the SDK', async () => {
    const page = await fresh();
    await page.goto(`${web.url}/esm`);
    const aid = await eventually(async () => {
      const id = await anonymousId(page);
      expect(id).not.toBe('');
      return id;
    });
    await eventually(async () => expect((await events(aid)).map((e) => e.event ?? e.properties.path).sort()).toEqual(['/esm', 'From ESM']));
    await eventually(async () => expect(await page.evaluate(() => document.body.dataset.level)).toBe('cold'));
    await page.context().close();
  });

  it('single-page navigation: pushState, replaceState and popstate, without doubles', async () => {
    const page = await fresh();
    await page.goto(`${web.url}/spa`);
    await page.evaluate(() => {
      history.pushState({}, '', '/spa/features');
      history.replaceState({}, '', '/spa/features'); // same path: not a new view
      history.pushState({}, '', '/spa/pricing');
    });
    await page.goBack(); // popstate → /spa/features
    const aid = await anonymousId(page);
    await eventually(async () => {
      // Views made in the same millisecond share a timestamp, so the collector's order among them is arbitrary:
      // compare which views were counted, and how often.
      const paths = (await events(aid)).filter((e) => e.type === 'page').map((e) => e.properties.path).sort();
      expect(paths).toEqual(['/spa', '/spa/features', '/spa/features', '/spa/pricing']);
    });
    await page.context().close();
  });
});

describe('delivery', () => {
  it('events created while the collector is unreachable, across two navigations, arrive exactly once when it returns', async () => {
    const path = await switchableCollector();
    const attrs = `?attrs=${encodeURIComponent(`data-allow-automation="true" data-api="${path.url}"`)}`;
    const page = await fresh();
    const context = page.context();
    path.down(true);
    await page.goto(`${web.url}/index${attrs}`);
    await page.evaluate(() => (window as any).leadlevel.track('Offline A', { n: 1 }));
    await page.waitForTimeout(700);
    await page.goto(`${web.url}/index/next${attrs}`); // navigation 1
    await page.evaluate(() => (window as any).leadlevel.track('Offline B', { n: 2 }));
    await page.waitForTimeout(700);
    await page.goto(`${web.url}/index/third${attrs}`); // navigation 2
    await page.waitForTimeout(700);
    const aid = await anonymousId(page);
    expect((await lead(aid)).status).toBe(404); // nothing got through
    path.down(false);
    await page.goto(`${web.url}/index/fourth${attrs}`);
    await eventually(async () => {
      const evs = await events(aid);
      const names = evs.map((e) => (e.type === 'page' ? e.properties.path : e.event === 'Queued Before Load' ? `queued ${e.properties.at}` : e.event)).sort();
      expect(names).toEqual(['/index', '/index/fourth', '/index/next', '/index/third', 'Offline A', 'Offline B', 'queued /index', 'queued /index/fourth', 'queued /index/next', 'queued /index/third']);
      expect(new Set(evs.map((e) => e.messageId)).size).toBe(evs.length);
    }, 20_000);
    await context.close();
    await path.close();
  });
});

describe('answers', () => {
  it('a slow answer to an older batch never overwrites the level a newer batch brought', async () => {
    const page = await fresh();
    await page.clock.install();
    // The first batch (the page view: warm) reaches the collector at once, but its answer is held for 3 s.
    let held = 0;
    await page.route(/\/v1\/batch$/, async (route) => {
      const res = await route.fetch();
      if (held++ === 0) await new Promise((r) => setTimeout(r, 3_000));
      await route.fulfill({ response: res });
    });
    await page.goto(`${web.url}/pricing`);
    const aid = await eventually(async () => {
      const id = await anonymousId(page);
      expect(id).not.toBe('');
      return id;
    });
    await page.clock.runFor(181_000); // 180 s of reading: hot, while the first answer is still on its way
    await eventually(async () => expect((await lead(aid)).body.level).toBe('hot'));
    await eventually(async () => expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('hot'));
    // Every answer is in: the page still says hot.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('hot');
    await page.context().close();
  });
});

describe('what a site does wrong or twice', () => {
  it('one message the collector refuses is dropped alone; a bad userId is never kept', async () => {
    const page = await fresh();
    // Every body the SDK sends that carries the refused event, and what the collector answered.
    const refusedSends: Promise<{ status: number; rejected: unknown[] }>[] = [];
    page.on('response', (res) => {
      if (res.url().includes('/v1/batch') && (res.request().postData() ?? '').includes('Demo Booked')) {
        refusedSends.push(res.json().then((b: any) => ({ status: res.status(), rejected: b.rejected })));
      }
    });
    await page.goto(`${web.url}/index`);
    const aid = await anonymousId(page);
    await page.evaluate(() => {
      const ll = (window as any).leadlevel;
      ll.identify('   '); // not an id: ignored
      ll.track('Good One');
      ll.track('Demo Booked'); // server-side only: a 200 names it in `rejected`
      ll.track('Good Two');
    });
    await eventually(async () => {
      const names = (await events(aid)).map((e) => e.event ?? e.type);
      expect(names).toContain('Good One');
      expect(names).toContain('Good Two');
      expect(names).toContain('identify');
      expect(names).not.toContain('Demo Booked');
    });
    // Sent once, answered 200 with it in `rejected`, and forgotten: a later flush does not send it again.
    await page.evaluate(() => (window as any).leadlevel.track('Later'));
    await eventually(async () => expect((await events(aid)).map((e) => e.event)).toContain('Later'));
    const sends = await Promise.all(refusedSends);
    expect(sends).toEqual([{ status: 200, rejected: [expect.objectContaining({ problems: [expect.objectContaining({ reason: expect.stringMatching(/server-side event/) })] })] }]);
    expect(await page.evaluate(() => localStorage.getItem('ll_uid'))).toBeNull();
    await page.context().close();
  });

  it('identify with a userId: sent with its proof the visitor becomes the user; without one it is refused alone', async () => {
    const page = await fresh();
    await page.goto(`${web.url}/index`);
    const aid = await anonymousId(page);
    const user = `user-${Date.now()}`;
    // What the site's backend computes for its signed-in user and puts in the page (as the README shows).
    const userHash = createHmac('sha256', DEV_IDENTITY_SECRET).update(user).digest('hex');
    await page.evaluate(
      ([u, h]) => {
        const ll = (window as any).leadlevel;
        ll.identify('someone-else', { plan: 'pro' }); // no proof: refused and dropped, nothing else with it
        ll.track('After Refused');
        ll.identify(u, { plan: 'pro' }, { userHash: h });
        ll.track('After Proof');
      },
      [user, userHash],
    );
    await eventually(async () => {
      const r = await lead(user);
      expect(r.status).toBe(200);
      const names = (await events(user)).map((e) => e.event ?? e.type).sort();
      expect(names).toEqual(['After Proof', 'After Refused', 'Queued Before Load', 'identify', 'page']);
    });
    expect((await lead('someone-else')).status).toBe(404);
    expect((await lead(aid)).body.id).toBe(user);
    await page.context().close();
  });

  it('a form submitted several times in one page view counts once', async () => {
    const page = await fresh();
    await page.goto(`${web.url}/index`);
    const aid = await anonymousId(page);
    for (let i = 0; i < 3; i++) await page.click('#submit'); // e.g. the site's validation rejected the first tries
    await page.waitForTimeout(1000);
    expect((await events(aid)).filter((e) => e.event === 'Form Submitted')).toHaveLength(1);
    await page.context().close();
  });

  it('consent(true) on every page load (as consent banners do) is not a second page view', async () => {
    const page = await fresh();
    await page.goto(`${web.url}/index`);
    await page.evaluate(() => (window as any).leadlevel.consent(true));
    await page.reload();
    await page.evaluate(() => (window as any).leadlevel.consent(true));
    const aid = await anonymousId(page);
    await page.waitForTimeout(1000);
    expect((await events(aid)).filter((e) => e.type === 'page')).toHaveLength(2);
    await page.context().close();
  });

  it('dwell time reported as the page goes is kept even when the collector is down at that moment', async () => {
    const path = await switchableCollector();
    const attrs = `?attrs=${encodeURIComponent(`data-allow-automation="true" data-api="${path.url}"`)}`;
    const page = await fresh();
    await page.goto(`${web.url}/pricing${attrs}`);
    const aid = await anonymousId(page);
    await eventually(async () => expect((await events(aid)).length).toBeGreaterThan(0));
    path.down(true);
    await page.waitForTimeout(8_000); // 8 s of reading: below the 15 s report step
    await page.goto(`${web.url}/index${attrs}`); // pagehide reports 8 s, but the collector is unreachable
    path.down(false);
    await page.goto(`${web.url}/index/again${attrs}`);
    await eventually(async () => {
      const dwell = (await events(aid)).filter((e) => e.event === 'Page Engaged').map((e) => e.properties.seconds);
      expect(dwell).toContain(8);
    }, 20_000);
    await page.context().close();
    await path.close();
  });
});

describe('privacy', () => {
  it('with data-consent="required" nothing is captured until consent(true); consent(false) stops and purges', async () => {
    const page = await fresh();
    await page.goto(`${web.url}/index?attrs=${encodeURIComponent('data-allow-automation="true" data-consent="required"')}`);
    await page.evaluate(() => (window as any).leadlevel.track('Before Consent'));
    await page.waitForTimeout(800);
    expect(await anonymousId(page)).toBe(''); // no id stored before consent
    expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('cold'); // default content, no hole
    await page.evaluate(() => (window as any).leadlevel.consent(true));
    const aid = await anonymousId(page);
    expect(aid).not.toBe('');
    await eventually(async () => expect((await events(aid)).map((e) => e.type)).toEqual(['page']));
    await page.evaluate(() => {
      (window as any).leadlevel.consent(false);
      (window as any).leadlevel.track('After Withdrawal');
    });
    await page.waitForTimeout(800);
    expect((await events(aid)).map((e) => e.event ?? e.type)).toEqual(['page']);
    // Reload: still withdrawn.
    await page.reload();
    await page.waitForTimeout(800);
    expect(await events(aid)).toHaveLength(1);
    await page.context().close();
  });

  it('consent(false) queued before the script arrives: nothing is sent and no id is stored', async () => {
    // The site's consent tool answered "no" before ll.js loaded: the call waits in the snippet's stub queue.
    const page = await fresh('window.leadlevel = { q: [["consent", [false]]] };');
    const sent: string[] = [];
    page.on('request', (r) => r.url().includes('/v1/') && sent.push(r.url()));
    await page.goto(`${web.url}/index`);
    await page.evaluate(() => (window as any).leadlevel.track('After No'));
    await page.waitForTimeout(1000);
    expect(sent).toEqual([]);
    expect(await page.evaluate(() => [localStorage.getItem('ll_aid'), document.cookie, document.documentElement.dataset.llLevel])).toEqual([null, '', 'cold']);
    await page.context().close();
  });

  it('Global Privacy Control and Do Not Track are honoured by default, and can be configured off', async () => {
    for (const signal of ['Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true })', 'Object.defineProperty(Navigator.prototype, "doNotTrack", { get: () => "1" })']) {
      const page = await fresh(signal);
      await page.goto(`${web.url}/index`);
      await page.waitForTimeout(800);
      expect(await anonymousId(page)).toBe(''); // nothing stored either
      await eventually(async () => expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('cold'));
      await page.goto(`${web.url}/index?attrs=${encodeURIComponent('data-allow-automation="true" data-respect-dnt="false"')}`);
      await eventually(async () => expect((await lead(await anonymousId(page))).status).toBe(200));
      await page.context().close();
    }
  });

  it('data-dwell and data-default-level configure the tag', async () => {
    const page = await fresh('Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true })');
    await page.goto(`${web.url}/index?attrs=${encodeURIComponent('data-default-level="warm"')}`);
    await eventually(async () => expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('warm'));
    expect(await visible(page, 'cta-warm')).toBe(true);
    await page.context().close();

    const reader = await fresh();
    await reader.clock.install();
    await reader.goto(`${web.url}/plans/enterprise?attrs=${encodeURIComponent('data-allow-automation="true" data-dwell="/plans,/roi"')}`);
    const aid = await anonymousId(reader);
    await reader.clock.runFor(31_000);
    await eventually(async () => {
      const dwell = (await events(aid)).filter((e) => e.event === 'Page Engaged').map((e) => `${e.properties.path}:${e.properties.seconds}`);
      expect(dwell).toEqual(['/plans/enterprise:30', '/plans/enterprise:15']);
    });
    await reader.context().close();
  });

  it('automated browsers are skipped unless configured', async () => {
    const page = await fresh();
    await page.goto(`${web.url}/index?attrs=`);
    await page.waitForTimeout(800);
    expect(await page.evaluate(() => navigator.webdriver)).toBe(true);
    expect((await lead(await anonymousId(page))).status).toBe(404);
    await page.context().close();
  });
});

describe('robustness', () => {
  it('if the script cannot be reached, the snippet shows the default level’s content after a short timeout', async () => {
    const page = await fresh();
    await page.route(/\/ll\.js$/, (route) => route.abort('connectionrefused'));
    await page.goto(`${web.url}/index`);
    expect(await page.evaluate(() => document.documentElement.hasAttribute('data-ll-level'))).toBe(false);
    expect(await page.locator('#cta-cold').evaluate((el) => getComputedStyle(el).visibility)).toBe('hidden'); // no wrong content meanwhile
    await eventually(async () => expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('cold'), 3000);
    expect(await visible(page, 'cta-cold')).toBe(true);
    for (const other of ['cta-warm', 'cta-hot', 'cta-very-hot']) expect(await visible(page, other)).toBe(false);
    await page.context().close();
  });

  it('broken storage and a failing network never reach the host page', async () => {
    const page = await fresh(`
      Object.defineProperty(window, 'localStorage', { get() { throw new Error('storage disabled'); } });
      IDBFactory.prototype.open = function () { throw new Error('indexedDB disabled'); };
      window.fetch = () => Promise.reject(new TypeError('network down'));
      navigator.sendBeacon = () => { throw new Error('no beacons'); };
    `);
    const errors = pageErrors(page);
    await page.goto(`${web.url}/index`);
    await page.evaluate(() => {
      const ll = (window as any).leadlevel;
      ll.track('Anything', { a: 1 });
      ll.identify('user-1', { email: 'x@example.com' });
      ll.page();
      ll.on('level', () => {
        throw new Error('a listener that throws');
      });
      history.pushState({}, '', '/index/elsewhere');
      ll.consent(true);
    });
    await page.fill('#email', 'ada@example.com');
    await page.click('#submit');
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await page.waitForTimeout(2000);
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.dataset.llLevel)).toBe('cold');
    expect(await page.locator('#cta-cold').isVisible()).toBe(true);
    await page.context().close();
  });
});

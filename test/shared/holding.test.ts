/**
 * Holding machines, as pure code: which user agents are machines, the model's `holding` section and its problems,
 * and the rule over a lead's history (what is held, for good or until a person shows up).
 */
import { describe, expect, it } from 'vitest';
import { machineAgent } from '../../shared/agents.js';
import { compileModel, ModelError, validateModel } from '../../shared/compile.js';
import type { LeadEvent } from '../../shared/events.js';
import { holdsOf } from '../../shared/holding.js';
import type { Holding, Model } from '../../shared/model.js';
import { resolveModel } from '../../worker/model.js';
import { b2bDefault } from '../../shared/models/b2b-default.js';

const withHolding = (holding: unknown): Model => ({ ...b2bDefault, holding: holding as Holding });
const problems = (holding: unknown) => validateModel(withHolding(holding)).map((p) => `${p.path}: ${p.reason}`);

describe('machine user agents', () => {
  it('crawlers and mail scanners are machines, browsers and webmail image proxies are people', () => {
    expect(machineAgent('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')).toBe('Google');
    expect(machineAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0 Safari/537.36 Barracuda Sentinel (EE)')).toBe('Barracuda');
    expect(machineAgent('Mimecast Web Security Service')).not.toBeNull();
    expect(machineAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/130.0.0.0 Safari/537.36')).toBe('Headless');
    expect(machineAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36')).toBeNull();
    expect(machineAgent('Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)')).toBeNull();
    expect(machineAgent(undefined)).toBeNull();
  });
});

describe('the holding section of a model', () => {
  it('the shipped model spells out its defaults, and a model without the section holds the same way', () => {
    expect(validateModel(b2bDefault)).toEqual([]);
    const { holding: _, ...bare } = b2bDefault;
    const a = compileModel(b2bDefault).holding;
    const b = compileModel({ ...bare, holding: { honeypot: ['/ll-trap*'] } }).holding;
    expect({ ...a, releaseOn: a.releaseOn.length, honeypot: !!a.honeypot }).toEqual({ ...b, releaseOn: b.releaseOn.length, honeypot: !!b.honeypot });
    expect(resolveModel({ extends: 'b2b-default', holding: { afterDeliverySeconds: 30 } }).holding).toEqual({ afterDeliverySeconds: 30 });
  });

  it('bad settings are listed, each with where it is and what to do', () => {
    expect(problems('yes')).toEqual(['holding: must be an object ({ crawlers, afterDeliverySeconds, burst, honeypot, releaseOn })']);
    expect(problems({ crawler: true, crawlers: 'yes', afterDeliverySeconds: 3600, burst: { clicks: 1, seconds: 0 } })).toEqual([
      'holding.crawler: unknown setting (use enabled, crawlers, afterDeliverySeconds, burst, honeypot, releaseOn)',
      'holding.crawlers: must be true or false (got "yes")',
      "holding.afterDeliverySeconds: must be seconds from 0 (off) to 600: a longer window holds people's opens too (got 3600)",
      'holding.burst.clicks: must be a whole number ≥ 2: one click is no burst (got 1)',
      'holding.burst.seconds: must be seconds > 0, at most 60 (got 0)',
    ]);
    expect(problems({ honeypot: ['ll-trap', '/*', 'https://*'] })).toEqual([
      'holding.honeypot[0]: "ll-trap" is not a URL pattern: start it with / (a path) or http(s)://',
      'holding.honeypot[1]: "/*" matches every link: it would hold every click',
      'holding.honeypot[2]: "https://*" matches every link: it would hold every click',
    ]);
    expect(problems({ releaseOn: [{ event: 'Email Link Clicked' }, { type: 'track' }, { event: 'Teleported' }] })).toEqual([
      'holding.releaseOn[0].event: Email Link Clicked: a scanner does that too, so it cannot show a person (use page views or forms)',
      'holding.releaseOn[1]: matches every track event, opens and clicks too, which scanners make: name the events',
      'holding.releaseOn[2].event: matches no event: "Teleported" is neither a canonical event nor listed in customEvents',
    ]);
    expect(() => compileModel(withHolding({ burst: { clicks: 2.5, seconds: 1 } }))).toThrow(ModelError);
    // null turns the burst off; 0 the delivery window.
    expect(problems({ burst: null, afterDeliverySeconds: 0 })).toEqual([]);
  });
});

describe('the holding rule over a history', () => {
  const h = compileModel({ ...b2bDefault, holding: { honeypot: ['/ll-trap*'] } }).holding;
  const ev = (messageId: string, timestamp: number, e: Partial<LeadEvent>): LeadEvent => ({ messageId, timestamp, type: 'track', properties: {}, ...e });
  const click = (id: string, t: number, url = `https://x.test/${id}`, message = 'm') => ev(id, t, { event: 'Email Link Clicked', properties: { url, providerMessageId: message } });

  it('timing holds are released by a later page view; user-agent and honeypot holds are not', () => {
    const history = [
      ev('d', 0, { event: 'Email Delivered', properties: { providerMessageId: 'm' } }),
      click('c1', 2_000),
      click('c2', 2_500),
      click('c3', 2_900),
      click('trap', 60_000, 'https://x.test/ll-trap'),
      ev('bot', 61_000, { type: 'page', properties: { path: '/' }, agent: 'Mozilla/5.0 (compatible; bingbot/2.0)' }),
      ev('p', 120_000, { type: 'page', properties: { path: '/' } }),
      click('late', 200_000, undefined, 'n'),
      click('late2', 200_100, undefined, 'n'),
      click('late3', 200_200, undefined, 'n'),
    ];
    const holds = holdsOf(h, history);
    const summary = Object.fromEntries([...holds].map(([id, x]) => [id, `${x.signal}${x.permanent ? '!' : ''}${x.released ? ' released' : ''}`]));
    expect(summary).toEqual({
      c1: 'burst released',
      c2: 'burst released',
      c3: 'burst released',
      trap: 'honeypot!',
      bot: 'crawler!',
      late: 'burst',
      late2: 'burst',
      late3: 'burst',
    });
    // The crawler's page view shows no person: without the real one nothing is released.
    expect([...holdsOf(h, history.filter((e) => e.messageId !== 'p')).values()].some((x) => x.released)).toBe(false);
  });

  it('an open within the delivery window is held, one after it is not; a burst with a honeypot click is held for good', () => {
    const history = [
      ev('d', 0, { event: 'Email Delivered', properties: { providerMessageId: 'm' } }),
      ev('o1', 9_000, { event: 'Email Opened', properties: { providerMessageId: 'm' } }),
      ev('o2', 11_000, { event: 'Email Opened', properties: { providerMessageId: 'm' } }),
      click('a', 100_000),
      click('b', 100_200, 'https://x.test/ll-trap?u=1'),
      click('c', 100_400),
    ];
    const holds = holdsOf(h, history);
    expect(holds.get('o1')).toMatchObject({ signal: 'delivery', reason: 'likely a scanner: opened 9 s after delivery' });
    expect(holds.has('o2')).toBe(false);
    expect(holds.get('a')).toMatchObject({ signal: 'burst', permanent: true, reason: 'likely a scanner: clicked 3 links within 1 s, one of them a known machine' });
    expect(holds.get('b')).toMatchObject({ signal: 'honeypot', permanent: true });
  });
});

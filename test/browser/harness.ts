/**
 * Browser test harness: Debian's Chromium driven by playwright-core, test pages served from a separate
 * loopback origin (as a marketing site is separate from its collector), and reads from the real collector.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { inject } from 'vitest';

export const collector = inject('collector');
const SECRET = { Authorization: 'Basic ' + Buffer.from('sk_dev:').toString('base64') };

/**
 * Headless Chromium says "HeadlessChrome" in its user agent, which the collector rightly holds as a machine's
 * (shared/agents.ts): the tests drive it as a person would, so it says what a person's Chrome says.
 */
const PERSON_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', `--user-agent=${PERSON_UA}`];

/** `extra`: more Chromium flags for one file's browser. */
export function launch(extra: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: [...CHROMIUM_FLAGS, ...extra], headless: true });
}

/** A file the test site serves at a path of its own (a third-party library's bundle, its page). */
export interface SiteFile {
  type: string;
  body: string | Buffer;
}

/**
 * Serves the test page for any path (so SPA paths and /pricing work), titled after its first segment, with
 * {{COLLECTOR}} and {{ATTRS}} filled in. `?attrs=<…>` sets the script tag's attributes. `files` are served as
 * they are at their exact paths.
 */
export async function site(files: Record<string, SiteFile> = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = Object.hasOwn(files, url.pathname) ? files[url.pathname] : undefined;
    if (file) return res.writeHead(200, { 'Content-Type': file.type }).end(file.body);
    const name = url.pathname.split('/')[1] || 'index';
    if (name === 'dist') {
      // The SDK's ESM build, as a site that bundles it would serve it.
      try {
        return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(readFileSync(join('dist', url.pathname.split('/').pop()!)));
      } catch {
        return res.writeHead(404).end('not found');
      }
    }
    try {
      const html = readFileSync(join('test/browser/pages', name === 'esm' ? 'esm.html' : 'index.html'), 'utf8')
        .replace('<title>Test site</title>', `<title>${name === 'index' ? 'Test site' : name[0].toUpperCase() + name.slice(1)}</title>`)
        .replaceAll('{{COLLECTOR}}', collector)
        .replaceAll('{{ATTRS}}', url.searchParams.get('attrs') ?? 'data-allow-automation="true"');
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://localhost:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * A loopback path to the collector: `intercept` may answer a request itself (and returns true when it did);
 * every other request is passed through unchanged.
 */
export async function collectorPath(intercept: (req: IncomingMessage, res: ServerResponse) => boolean = () => false): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    if (intercept(req, res)) return;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length')) as Record<string, string>;
    const upstream = await fetch(collector + req.url, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    // fetch has already decoded the body: its encoding and length headers no longer describe it.
    const out = Object.fromEntries([...upstream.headers].filter(([k]) => !['content-encoding', 'content-length', 'transfer-encoding'].includes(k)));
    res.writeHead(upstream.status, out);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/**
 * A switchable path to the collector, for "the collector is unreachable": while down, every connection is
 * dropped, as when a host is unreachable; otherwise requests are passed through unchanged.
 */
export async function switchableCollector(): Promise<{ url: string; down: (d: boolean) => void; close: () => Promise<void> }> {
  let isDown = false;
  const path = await collectorPath((req) => (isDown ? (req.socket.destroy(), true) : false));
  return { ...path, down: (d) => (isDown = d) };
}

export async function anonymousId(page: Page): Promise<string> {
  return page.evaluate(() => localStorage.getItem('ll_aid') ?? '');
}

export async function lead(id: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${collector}/v1/leads/${encodeURIComponent(id)}`, { headers: SECRET });
  return { status: res.status, body: await res.json() };
}

export async function events(id: string): Promise<any[]> {
  const res = await fetch(`${collector}/v1/leads/${encodeURIComponent(id)}/events?limit=500`, { headers: SECRET });
  if (res.status === 404) return [];
  return ((await res.json()) as { events: any[] }).events;
}

/** Polls until `check` passes (the SDK delivers asynchronously), failing with the last error. */
export async function eventually<T>(check: () => Promise<T>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * A person's browser tab at desktop width (not an automated one: the SDK skips automation by default), with a
 * mock clock installed and its page errors recorded.
 */
export async function personPage(browser: Browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript('Object.defineProperty(Navigator.prototype, "webdriver", { get: () => false })');
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = pageErrors(page);
  await page.clock.install();
  return { context, page, errors };
}

/** Records uncaught page errors: the SDK must never throw into the host page. */
export function pageErrors(page: Page): Error[] {
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  return errors;
}

export type { Browser, BrowserContext, Page };

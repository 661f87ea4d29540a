/** A signed-in operator for the dashboard's workerd tests: its requests, its session cookie and CSRF token. */
import { expect } from 'vitest';
import { BASE, call as callFollowing } from './helpers.js';

/** Requests as a browser's own, with redirects shown rather than followed (the Worker's loopback follows them). */
export const call = (path: string, init: RequestInit = {}) => callFollowing(path, { redirect: 'manual', ...init });

export const FORM = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: BASE };

/** Signs in with the local secret key: the session cookie and the page's CSRF token. */
export async function signIn() {
  const res = await call('/app/sign-in', { method: 'POST', headers: FORM, body: new URLSearchParams({ secret: 'sk_dev', next: '/app' }) });
  expect(res.status).toBe(303);
  const cookie = res.headers.get('Set-Cookie')!.split(';')[0];
  const page = await call('/app', { headers: { Cookie: cookie } });
  expect(page.status).toBe(200);
  const csrf = /name="_csrf" value="([0-9a-f]{64})"/.exec(await page.text())![1];
  return { cookie, csrf };
}

export const page = async (path: string, cookie: string) => {
  const res = await call(path, { headers: { Cookie: cookie } });
  return { status: res.status, html: await res.text(), res };
};

/** A form POST of the signed-in operator (its fields as given: add `_csrf` for a genuine one). */
export const postForm = (path: string, cookie: string, fields: Record<string, string>) => call(path, { method: 'POST', headers: { ...FORM, Cookie: cookie }, body: new URLSearchParams(fields) });

/** The JSON island with this id on a page. */
export const island = (html: string, id: string) => JSON.parse(new RegExp(`<script type="application/json" id="${id}">(.*?)</script>`).exec(html)![1]);

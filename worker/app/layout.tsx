/** The dashboard's page frame: navigation, sign-out, the one stylesheet and the two scripts, and chart data. */
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { APP_ASSETS } from '../generated/app-assets.js';
import type { Session } from './session.js';

export const asset = (name: string) => `/app/static/${name}?v=${APP_ASSETS[name].hash}`;

const NAV = [
  ['overview', '/app', 'Overview'],
  ['queue', '/app/queue', 'Queue'],
  ['model', '/app/model', 'Model'],
  ['deliveries', '/app/deliveries', 'Deliveries'],
] as const;

export type Section = (typeof NAV)[number][0] | 'lead' | 'sign-in';

/**
 * JSON for a `<script type="application/json">` (not executed, so no nonce needed): `<`, `>`, `&` and the two
 * JavaScript line separators escaped, so a trait like `</script><script>…` stays text inside the JSON string.
 */
export function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Data a chart of app.js draws: `<div data-chart="id">` reads the JSON island with that id. */
export function ChartData(props: { id: string; data: unknown }) {
  return <script type="application/json" id={props.id} dangerouslySetInnerHTML={{ __html: inlineJson(props.data) }} />;
}

/** The header of a table's column of buttons: named for screen readers only. */
export const ActionHeader = () => (
  <th>
    <span class="sr-only">Action</span>
  </th>
);

/** A form field carrying the session's CSRF token. */
export const CsrfField = (props: { session: Session }) => <input type="hidden" name="_csrf" value={props.session.csrf} />;

type LayoutProps = { title: string; section: Section; session?: Session; live?: string; children?: Child };

/** A page: the document type first (without it a browser renders in quirks mode), then the frame. */
export const Layout = (props: LayoutProps) => (
  <>
    {raw('<!DOCTYPE html>')}
    <Frame {...props} />
  </>
);

function Frame(props: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · leadlevel`}</title>
        <link rel="stylesheet" href={asset('uplot.css')} />
        <link rel="stylesheet" href={asset('app.css')} />
        <script src={asset('uplot.js')} defer />
        <script src={asset('app.js')} defer />
      </head>
      <body data-live={props.live}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/app">
            leadlevel
          </a>
          {props.session && (
            <nav aria-label="Dashboard">
              <ul>
                {NAV.map(([id, href, label]) => (
                  <li>
                    <a href={href} aria-current={props.section === id ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {props.session && (
            <form method="post" action="/app/sign-out" class="sign-out">
              <CsrfField session={props.session} />
              <button type="submit">Sign out</button>
            </form>
          )}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)} %`);
export const num = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '—' : v.toFixed(digits).replace(/\.0+$/, ''));

/** A number's table cell: right-aligned, labelled for the phone-width layout (which stacks cells with their labels). */
export const NumCell = ({ label, children }: { label: string; children: unknown }) => (
  <td class="n" data-label={label}>
    {children}
  </td>
);
export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : '—');

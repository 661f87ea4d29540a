/**
 * Is this user agent a machine's? `isbot` (a list kept up to date by its users, 200-odd patterns) decides, not
 * regexes of our own; two corrections for email, where the user agent is what fetched the pixel or followed the
 * link:
 * - Mail security scanners that announce themselves only at the end of a browser-like user agent, which isbot's
 *   patterns (anchored on whole product names) miss: `Mozilla/5.0 … Chrome/90 … Barracuda Sentinel (EE)` is
 *   not a bot to isbot, `Barracuda Sentinel (EE)` alone is. The names below are the ones those products put
 *   there; a scanner that hides completely is caught by timing instead (holding.ts).
 * - Webmail image proxies (Gmail's GoogleImageProxy, Yahoo's YahooMailProxy) fetch the open pixel when a person
 *   opens the message: isbot calls them bots, but their opens are people's.
 */
import { isbotMatch } from 'isbot';

const SCANNERS = /barracuda|proofpoint|mimecast|safelinks|safe links|trend ?micro|forcepoint|cisco ironport|symantec|fireeye/i;
const IMAGE_PROXIES = /googleimageproxy|yahoomailproxy/i;

/** The part of `ua` that names a machine (`Googlebot`, `Barracuda`), or null for a person's browser or mail app. */
export function machineAgent(ua: unknown): string | null {
  if (typeof ua !== 'string' || ua.trim() === '') return null;
  if (IMAGE_PROXIES.test(ua)) return null;
  return SCANNERS.exec(ua)?.[0] ?? isbotMatch(ua);
}

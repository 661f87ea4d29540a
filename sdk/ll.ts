/**
 * The script tag: `<script src="https://<collector>/ll.js" data-site="pk_…" async></script>`.
 * Options come from the tag's data attributes; calls queued by the README's snippet before the script arrived
 * are replayed in order.
 */
import { create, safe, type Leadlevel } from './core.js';

type Stub = { q?: [keyof Leadlevel, ArrayLike<unknown>][] };

safe(() => {
  const w = window as unknown as { leadlevel?: Stub | Leadlevel };
  const stub = w.leadlevel as Stub | undefined;
  if (stub && !stub.q) return; // already running (the tag was included twice)
  // A consent decision queued before the script arrived applies before anything is captured.
  for (const [m, args] of stub?.q ?? []) if (m == 'consent') localStorage.setItem('ll_consent', args[0] ? '1' : '0');
  const tag = (document.currentScript ?? document.querySelector('script[data-site]')) as HTMLScriptElement | null;
  const a = (k: string) => tag?.getAttribute('data-' + k) ?? undefined;
  const ll = create({
    site: a('site') ?? '',
    api: a('api') ?? new URL(tag?.src ?? location.href, location.href).origin,
    consent: a('consent'),
    respectDnt: a('respect-dnt') !== 'false',
    allowAutomation: a('allow-automation') === 'true',
    dwellPaths: a('dwell')?.split(','),
    defaultLevel: a('default-level'),
  });
  w.leadlevel = ll;
  for (const [m, args] of stub?.q ?? []) if (m != 'consent') safe(ll[m] as (...x: unknown[]) => void)(...Array.from(args));
})();

/**
 * Who is in the personalization holdout (worker/experience.ts): the first 32 bits of SHA-256 over the visitor's
 * anonymous id, as a fraction of 2³², below the share. Stable (the same visitor stays in its group on every page,
 * every edge and every test that needs one), uniform, and nested (a visitor held out at 10 % is held out at 20 %
 * too). Not a secret: knowing your own group changes nothing, since a browser cannot record an experience.
 */
export async function heldOut(anonymousId: string, share: number): Promise<boolean> {
  if (!(share > 0)) return false;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`leadlevel-holdout:${anonymousId}`));
  return new DataView(digest).getUint32(0) / 2 ** 32 < share;
}

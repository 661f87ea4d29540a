/** An unmodified Segment library, pointed at the collector, works: Segment compatibility is not a claim. */
import { Analytics } from '@segment/analytics-node';
import { describe, expect, inject, it } from 'vitest';

const collector = inject('collector');
const secret = { Authorization: 'Basic ' + Buffer.from('sk_dev:').toString('base64') };

describe('@segment/analytics-node', () => {
  it('sends track, page and identify; the collector scores them', async () => {
    const analytics = new Analytics({ writeKey: 'sk_dev', host: collector, path: '/v1/batch', flushAt: 20, flushInterval: 50, maxRetries: 2 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const userId = `seg-${Date.now()}`;
    analytics.identify({ userId, traits: { email: `${userId}@example.com`, title: 'VP Marketing' } });
    analytics.page({ userId, name: 'Pricing', properties: { path: '/pricing', url: 'https://www.example.com/pricing' } });
    analytics.track({ userId, event: 'Webinar Attended', properties: { webinar: 'Scoring 101' } });
    analytics.track({ userId, event: 'Form Submitted', properties: { form: 'Demo', kind: 'demo_request' } });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    const res = await fetch(`${collector}/v1/leads/${userId}`, { headers: secret });
    expect(res.status).toBe(200);
    const lead = await res.json();
    expect(lead).toMatchObject({ id: userId, email: `${userId}@example.com`, level: 'very_hot', leadScore: 45, engagementScore: 45 });
    const events = (await (await fetch(`${collector}/v1/leads/${userId}/events`, { headers: secret })).json()) as { events: unknown[] };
    expect(events.events).toHaveLength(4);
  });
});

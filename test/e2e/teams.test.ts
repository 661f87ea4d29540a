/**
 * LEADLEVEL_TEAMS_FILE selects the teams file the Worker runs, not only the one checked: the collector of these
 * tests runs `npm start` with a file other than leadlevel.teams.json (test/e2e/collector.ts), and its routes,
 * teams and name are the ones the Worker uses — a Very Hot lead's signed webhooks reach its destinations.
 */
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, expect, inject, it } from 'vitest';
import { DEV_WEBHOOK_SECRET } from '../../worker/notify/webhook.js';
import { E2E_TEAMS_FILE } from './collector.js';
import type { Received } from './receiver.js';

const collector = inject('collector');
const receiver = inject('receiver');
const SECRET = { Authorization: 'Bearer sk_dev', 'Content-Type': 'application/json' };

async function arrived(box: string, userId: string, n: number): Promise<Received[]> {
  for (let i = 0; i < 100; i++) {
    const all = (await (await fetch(`${receiver}/_log/${box}`)).json()) as Received[];
    // A team's Slack destination shares its box (/slack/ae beside /hooks/ae): only the webhooks are signed.
    const mine = all.filter((r) => r.path.startsWith('/hooks/') && r.body.includes(userId));
    if (mine.length >= n) return mine;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing about ${userId} arrived at ${box}`);
}

describe('LEADLEVEL_TEAMS_FILE', () => {
  it("routes a Very Hot lead to the selected file's destinations, signed", async () => {
    const userId = `teams-${Date.now()}`;
    const batch = [
      { type: 'identify', userId, messageId: `${userId}-1`, traits: { email: `${userId}@example.com` } },
      { type: 'track', userId, messageId: `${userId}-2`, event: 'Form Submitted', properties: { form: 'Demo', kind: 'demo_request' } },
    ];
    const res = await fetch(`${collector}/v1/batch`, { method: 'POST', headers: SECRET, body: JSON.stringify({ batch }) });
    expect(res.status, await res.clone().text()).toBe(200);
    // The shipped file sends Very Hot to placeholders on port 9; the selected one to the receiver's ae and manager boxes.
    for (const box of ['ae', 'manager']) {
      const [hook] = await arrived(box, userId, 1);
      const body = new Webhook(DEV_WEBHOOK_SECRET).verify(hook.body, hook.headers as Record<string, string>) as { type: string; data: any };
      expect(body.type).toBe('lead.level_changed');
      expect(body.data.lead).toMatchObject({ id: userId, level: 'very_hot' });
      expect(body.data.team.id).toBe(box);
    }
  });

  it('knows the teams of the selected file, and names it', async () => {
    // `ops` is a team of the tests' file only.
    expect((await fetch(`${collector}/v1/leads?team=ops`, { headers: SECRET })).status).toBe(200);
    const res = await fetch(`${collector}/v1/leads?team=closers`, { headers: SECRET });
    expect(res.status).toBe(400);
    const ids = (JSON.parse(readFileSync('test/worker/teams.fixture.json', 'utf8')) as { teams: { id: string }[] }).teams.map((t) => t.id);
    expect(ids).toContain('ops');
    expect(JSON.stringify(await res.json())).toContain(`is not a team of ${E2E_TEAMS_FILE} (${ids.join(', ')})`);
  });
});

import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { TEAMS_SPECIFIER, writeTeamsModule } from './scripts/teams-module.js';
import { startReceiver } from './test/e2e/receiver.js';

// The lead index's schema, applied to the tests' local D1 before the Worker tests run (by the tests that read it).
const indexMigrations = await readD1Migrations('./migrations');

// Test-only email-service settings (test/worker/sources.test.ts): a SendGrid key pair made fresh for each run with
// WebCrypto (the tests sign with its private half, as SendGrid signs with its own), a Mailgun signing key and
// Postmark credentials that exist nowhere else.
const sendgridPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
const base64 = (buf: ArrayBuffer) => Buffer.from(buf).toString('base64');
const sourceBindings = {
  SENDGRID_WEBHOOK_PUBLIC_KEY: base64(await crypto.subtle.exportKey('spki', sendgridPair.publicKey)),
  TEST_SENDGRID_PRIVATE_KEY: base64(await crypto.subtle.exportKey('pkcs8', sendgridPair.privateKey)),
  MAILGUN_WEBHOOK_SIGNING_KEY: 'test-only-mailgun-signing-key',
  POSTMARK_WEBHOOK_USER: 'postmark-test',
  POSTMARK_WEBHOOK_PASSWORD: 'test-only-postmark-password',
};

// Notifications go to a real HTTP receiver on loopback (test/e2e/receiver.ts): the Worker tests run with a
// teams file whose destinations are its boxes, in place of leadlevel.teams.json; email goes to its /email box.
// It reaches the Worker as a deployment's does, through the `leadlevel-teams` module (scripts/teams-module.js),
// made for this run in a folder of its own.
const RECEIVER = await startReceiver();
const teamsDir = mkdtempSync(join(tmpdir(), 'leadlevel-test-teams-'));
process.on('exit', () => rmSync(teamsDir, { recursive: true, force: true }));
writeFileSync(join(teamsDir, 'leadlevel.teams.json'), readFileSync('./test/worker/teams.fixture.json', 'utf8').replaceAll('RECEIVER', RECEIVER));
const testTeamsModule = writeTeamsModule(join(teamsDir, 'leadlevel.teams.json'), join(teamsDir, 'teams.js'));
const testTeams = { name: 'test-teams', enforce: 'pre' as const, resolveId: (id: string) => (id === TEAMS_SPECIFIER ? testTeamsModule : undefined) };
const notifyBindings = { TEST_RECEIVER: RECEIVER, EMAIL_API_URL: `${RECEIVER}/email/resend`, EMAIL_API_KEY: 'test-only-email-key', NOTIFY_TIMEOUT_MS: '1000', PUBLIC_URL: 'http://collector.test' };

export default defineConfig({
  test: {
    projects: [
      // Pure code (shared/: the contract, the model, the engine) runs in Node, and so do the scripts' checks.
      { plugins: [testTeams], test: { name: 'shared', include: ['test/shared/**/*.test.ts', 'test/scripts/**/*.test.ts'], environment: 'node' } },
      // The Worker and its Durable Objects run inside workerd, configured from wrangler.toml.
      {
        plugins: [
          testTeams,
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: { ENVIRONMENT: 'development', DEMO_MODE: 'true', VISITOR_EVENTS_PER_MINUTE: '120', INDEX_MIGRATIONS: indexMigrations, ...sourceBindings, ...notifyBindings },
              // The per-address limit, lowered so its test needs few requests (every other request of the tests
              // comes from an address of its own: helpers.ts).
              ratelimits: { ADDRESS_LIMIT: { simple: { limit: 40, period: 60 } } },
            },
          }),
        ],
        // One file at a time: the files share one local D1, and the outbox test takes its table away for a while.
        test: { name: 'worker', include: ['test/worker/**/*.test.ts'], fileParallelism: false },
      },
      // Over HTTP against the collector as `npm start` runs it: Segment's own library, and the SDK in Chromium.
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/collector.ts'],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});

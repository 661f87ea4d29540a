#!/usr/bin/env node
// The browser tests drive Debian's Chromium (/usr/bin/chromium). Install it when missing and we may (root with
// apt-get, as on CI); otherwise stop with the one command that fixes it.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  const root = process.getuid?.() === 0;
  const apt = existsSync('/usr/bin/apt-get');
  if (!root || !apt) {
    console.error(`Chromium is missing at ${CHROMIUM}: install it with "sudo apt-get install -y chromium" (or set CHROMIUM_PATH)`);
    process.exit(1);
  }
  console.log('Installing Debian chromium for the browser tests…');
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation > /dev/null', { stdio: 'inherit' });
}
console.log(execSync(`${CHROMIUM} --version`).toString().trim());

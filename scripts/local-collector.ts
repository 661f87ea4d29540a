/**
 * Starts the collector exactly as `npm start` does (wrangler dev on local workerd), on a free loopback port
 * with its own temporary storage. Used by the HTTP tests and the benchmarks.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface Local {
  url: string;
  /** Where the instance keeps its local state (Durable Objects, the D1 index): `wrangler … --persist-to` it. */
  dir: string;
  stop(): void;
  /** Settles when the instance's processes have gone (after `stop`). */
  exited: Promise<void>;
  /** What wrangler printed so far: for a caller's error message when the instance misbehaved. */
  log(): string;
}

/**
 * `extra` goes to wrangler: another script and config for a baseline Worker, say. `keep`: the state directory
 * to use, kept when the instance stops (for a second start on the same data); else a fresh one, removed.
 */
export async function startLocal(extra: string[] = [], env: Record<string, string> = {}, keep?: string): Promise<Local> {
  const port = await freePort();
  const inspector = await freePort();
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'leadlevel-local-'));
  const child = spawn('node', ['scripts/start.js', '--persist-to', dir, '--inspector-port', String(inspector), ...extra], {
    // No simulated population unless a caller asks for one (LEADLEVEL_SIMULATE in `env`).
    env: { ...process.env, LEADLEVEL_SIMULATE: 'off', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let log = '';
  child.stdout?.on("data", (d: Buffer) => (log += d));
  child.stderr?.on("data", (d: Buffer) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, dir, stop, exited, log: () => log };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      stop();
      throw new Error(`the local collector did not start on ${url}:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

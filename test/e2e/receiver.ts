/**
 * A real HTTP receiver on loopback for the notification tests, started in Node by vitest.config.ts for the Worker tests: the
 * Worker's webhooks, Slack messages and email API calls reach it over TCP like any receiver. Each box (the
 * path segment after /hooks/, /slack/ or /email/) records what arrived and answers as the test set it: a status,
 * after a delay. Tests drive it over HTTP: `POST /_mode/<box>` {status, delayMs}, `GET /_log/<box>`.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface Received {
  box: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status it was answered with. */
  status: number;
}

/** `onReceive`: told of each message as it arrives (the notification benchmark times arrivals with it). */
export async function startReceiver({ onReceive }: { onReceive?: (r: Received) => void } = {}): Promise<string> {
  const logs = new Map<string, Received[]>();
  const modes = new Map<string, { status: number; delayMs: number }>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const [, kind, box = ''] = (req.url ?? '/').split('?')[0].split('/');
      const answer = (status: number, json: unknown = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (kind === '_mode') {
        modes.set(box, JSON.parse(body || '{}'));
        return answer(200);
      }
      if (kind === '_log') return answer(200, logs.get(box) ?? []);
      const mode = modes.get(box) ?? { status: 200, delayMs: 0 };
      // Recorded on arrival, as a receiver that stores first and answers after would.
      const list = logs.get(box) ?? [];
      const r = { box, path: req.url ?? '', headers: req.headers, body, status: mode.status };
      list.push(r);
      logs.set(box, list);
      onReceive?.(r);
      setTimeout(() => {
        if (!res.destroyed) answer(mode.status, { ok: mode.status < 300 });
      }, mode.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

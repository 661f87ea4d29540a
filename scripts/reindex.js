#!/usr/bin/env node
// `npm run reindex -- --url https://leads.example.com --key sk_…`: rebuilds the lead index from the lead objects
// (README, "Rebuilding the index"). Starts a run (POST /v1/admin/reindex), then prints its progress until it is
// done. Against `npm start`: `npm run reindex -- --url http://127.0.0.1:8787 --key sk_dev`.
// `--id <run>` follows a run already started instead; `--page-size <n>` sets keys per step (1–1000);
// `--from-index` first walks the keys the D1 index still holds (a deployment upgraded from before the directory).
import { parseArgs } from 'node:util';

const usage = 'usage: npm run reindex -- --url <collector URL> --key <secret key sk_…> [--page-size <1-1000>] [--from-index] [--id <run to follow>]';
let opts;
try {
  ({ values: opts } = parseArgs({ options: { url: { type: 'string' }, key: { type: 'string' }, 'page-size': { type: 'string' }, 'from-index': { type: 'boolean' }, id: { type: 'string' }, help: { type: 'boolean' } } }));
} catch (err) {
  console.error(`${err.message}\n${usage}`);
  process.exit(2);
}
if (opts.help) {
  console.log(usage);
  process.exit(0);
}
const key = opts.key ?? process.env.LEADLEVEL_SECRET_KEY;
if (!opts.url || !key) {
  console.error(`--url and --key are needed (or LEADLEVEL_SECRET_KEY for the key)\n${usage}`);
  process.exit(2);
}
const base = opts.url.replace(/\/+$/, '');
const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };

async function request(path, init = {}, notFoundOk = false) {
  let res;
  try {
    res = await fetch(base + path, { ...init, headers });
  } catch (err) {
    throw new Error(`${base} did not answer: ${err.cause?.message ?? err.message}`);
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { message: text.slice(0, 200) };
  }
  if (res.status === 404 && notFoundOk) return null;
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${body.error ?? ''} ${body.message ?? ''}`.trim());
  return body;
}

try {
  let id = opts.id;
  if (!id) {
    const body = {};
    if (opts['page-size'] !== undefined) body.pageSize = Number(opts['page-size']);
    if (opts['from-index']) body.fromIndex = true;
    ({ id } = await request('/v1/admin/reindex', { method: 'POST', body: JSON.stringify(body) }));
    console.log(`reindex run ${id} started (follow it again with --id ${id})`);
  }
  let shown = '';
  const started = Date.now();
  for (;;) {
    // A run started a moment ago may not be found yet.
    const s = await request(`/v1/admin/reindex/${encodeURIComponent(id)}`, {}, Date.now() - started < 10_000);
    if (!s) {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    const p = s.progress;
    const walked = p.fromIndex ? `index keys ${p.fromIndex.keys}${p.fromIndex.done ? ' (done)' : ''}, ` : '';
    const line = `${s.status}: ${walked}${p.shardsDone}/${p.shards} shards, ${p.reindexed} leads reindexed, ${p.queued} queued for retry, ${p.gone} gone keys dropped`;
    if (line !== shown) console.log(line);
    shown = line;
    if (s.status === 'complete') process.exit(0);
    if (['errored', 'terminated', 'unknown'].includes(s.status)) {
      console.error(`the run stopped: ${s.error ? `${s.error.name}: ${s.error.message}` : s.status}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
} catch (err) {
  console.error(err.message);
  process.exit(1);
}

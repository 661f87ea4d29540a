/**
 * The dashboard's model page in workerd: the versions listed, a draft checked as the API checks it (problems
 * shown next to the editor, nothing stored), preview, publish and rollback through the page's forms on the real
 * leadlevel-models Workflow (each refused without the session's token, nothing started), the preview's sentence
 * and matrix, names an attacker could put in a model escaped, and the lead page's version markers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { B2B_ENGAGEMENT, B2B_RULES } from '../../shared/models/b2b-default.js';
import { activeModel } from '../../worker/model.js';
import { island, page, postForm, signIn } from './dashboard-session.js';
import { call, DAY, drain, env, iso, SECRET, serverBatch, uid, waitRun } from './helpers.js';

const auth = { Authorization: SECRET };
const api = async (path: string) => (await call(path, { headers: auth })).json<any>();

const NASTY = '</script><img src=x onerror=alert(1)>';
/** Other pages are worth 40 points instead of 1 (a lead moves Cold → Warm on one), under a name nobody should run. */
const DRAFT = {
  extends: 'b2b-default',
  scoringTypes: [{ ...B2B_ENGAGEMENT, rules: B2B_RULES.map((r) => (r.id === 'other_page' ? { ...r, points: 40, name: `Other page ${NASTY}` } : r)) }],
};


/** Text as JSX escaped it, back. */
const unescape = (html: string) => html.replace(/&(quot|#39|lt|gt|amp);/g, (_, e: string) => ({ quot: '"', '#39': "'", lt: '<', gt: '>', amp: '&' })[e]!);

const versions = async () => (await api('/v1/models')).versions as any[];
const fileVersion = async () => (await versions()).find((v) => v.source === 'file' && v.fingerprint === activeModel().fingerprint).version as number;
const runs = async (version: number) => (await env.INDEX.prepare('SELECT COUNT(*) AS n FROM model_runs WHERE version = ?1').bind(version).first<{ n: number }>())!.n;

afterAll(async () => {
  // The files share one D1: the next one starts with the bundled file published.
  const v = await fileVersion();
  if ((await api('/v1/models')).published.version !== v) {
    const res = await call(`/v1/models/${v}/rollback`, { method: 'POST', headers: auth });
    await waitRun((await res.json<any>()).status);
  }
});

describe('dashboard model page', () => {
  it('lists the versions with the published one, and saves its body back as a draft', async () => {
    const { cookie, csrf } = await signIn();
    const { status, html } = await page('/app/model', cookie);
    expect(status).toBe(200);
    expect(html).toContain('<a href="/app/model" aria-current="page">Model</a>');
    const { published, versions: all } = await api('/v1/models');
    expect(html).toContain(`data-published="${published.version}"`);
    for (const v of all) {
      const row = new RegExp(`<tr data-version="${v.version}"[^>]*>(.*?)</tr>`).exec(html)?.[1];
      expect(row, `version ${v.version}`).toBeDefined();
      expect(row).toContain(`<td data-label="State">${v.status}</td>`);
      expect(row).toContain(`<code>${v.fingerprint.slice(0, 12)}</code>`);
      expect(row).toContain(`<td data-label="By">${v.createdBy}</td>`);
    }
    // The editor is prefilled with the published version's body.
    const text = unescape(/<textarea name="model"[^>]*>([^<]*)<\/textarea>/.exec(html)![1]);
    expect(JSON.parse(text)).toEqual((await api(`/v1/models/${published.version}`)).model);
    // Sent back as it is, it is a draft: a form far bigger than the dashboard's other forms (8 KB) is taken.
    const body = new URLSearchParams({ _csrf: csrf, model: text }).toString();
    expect(body.length).toBeGreaterThan(8_192);
    const saved = await postForm('/app/model/drafts', cookie, { _csrf: csrf, model: text });
    expect(saved.status).toBe(303);
    const version = Number(/version=(\d+)/.exec(saved.headers.get('Location')!)![1]);
    expect((await api(`/v1/models/${version}`))).toMatchObject({ status: 'draft', fingerprint: (await api(`/v1/models/${published.version}`)).fingerprint });
    // Past the draft form's limit: refused before it is read.
    expect((await postForm('/app/model/drafts', cookie, { _csrf: csrf, model: 'x'.repeat(300_000) })).status).toBe(413);
    expect((await page('/app/model?version=abc', cookie)).status).toBe(400);
    expect((await page('/app/model?version=99999', cookie)).status).toBe(404);
  });

  it('shows a draft’s problems next to the editor, with the text sent, and stores nothing', async () => {
    const { cookie, csrf } = await signIn();
    const before = (await versions()).length;
    const cases: [string, string][] = [
      [JSON.stringify({ extends: 'b2b-nothing' }), 'extends'],
      [JSON.stringify({ ...DRAFT, scoringTypes: [{ ...DRAFT.scoringTypes[0], windowDays: -3 }] }), 'scoringTypes[engagement].windowDays'],
      ['{"extends": ', '(file)'],
      ['x'.repeat(70_000), '(file)'],
    ];
    for (const [text, path] of cases) {
      const res = await postForm('/app/model/drafts', cookie, { _csrf: csrf, model: text, note: 'n' });
      expect(res.status, text.slice(0, 60)).toBe(400);
      const html = await res.text();
      expect(html).toContain('nothing was saved');
      expect(html, text.slice(0, 60)).toContain(`<li data-problem="${path}"><code>${path}</code>: `);
      // The editor keeps what was sent, escaped: a rule name with a closing tag stays text.
      expect(html).not.toContain('<img src=x');
      if (text.includes('onerror')) expect(html).toContain('Other page &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    }
    expect((await versions()).length).toBe(before);
  });

  // Two publications, each with its run's wait for the isolates' cached publication to expire (6 s).
  it('saves a valid draft, refuses one without the token, and previews, publishes and rolls back through the forms', { timeout: 120_000 }, async () => {
    const { cookie, csrf } = await signIn();
    const file = await fileVersion();
    // Leads that the draft moves: each page other than the known ones is worth 40 instead of 1.
    const now = Date.now();
    const users = [uid('mp'), uid('mp'), uid('mp')];
    for (const [i, user] of users.entries()) {
      const pages = Array.from({ length: i + 1 }, (_, k) => ({ type: 'page', userId: user, messageId: uid('m'), properties: { path: `/blog/p${k}` }, timestamp: iso(now - (k + 1) * DAY) }));
      expect((await serverBatch(pages)).status).toBe(200);
      await drain(`u:${user}`);
    }
    const before = (await versions()).length;
    const forged = await postForm('/app/model/drafts', cookie, { model: JSON.stringify(DRAFT) });
    expect(forged.status).toBe(403);
    expect((await versions()).length).toBe(before);

    const saved = await postForm('/app/model/drafts', cookie, { _csrf: csrf, model: JSON.stringify(DRAFT), note: `webinars ${NASTY}` });
    expect(saved.status).toBe(303);
    const version = Number(/^\/app\/model\?version=(\d+)&done=saved$/.exec(saved.headers.get('Location')!)![1]);
    expect((await versions()).find((v) => v.version === version)).toMatchObject({ status: 'draft', source: 'api', createdBy: 'dashboard', note: `webinars ${NASTY}` });
    const shown = await page(saved.headers.get('Location')!, cookie);
    expect(shown.html).toContain(`Draft ${version} saved.`);
    expect(shown.html).not.toContain('<img src=x');
    expect(shown.html).toContain('webinars &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');

    // Without the token, nothing starts or changes.
    for (const action of ['preview', 'publish']) expect((await postForm(`/app/model/${version}/${action}`, cookie, {})).status, action).toBe(403);
    expect((await postForm(`/app/model/${file}/rollback`, cookie, { _csrf: 'f'.repeat(64) })).status).toBe(403);
    expect(await runs(version)).toBe(0);
    expect((await api('/v1/models')).published.version).toBe(file);
    expect((await postForm(`/app/model/${version}/nonsense`, cookie, { _csrf: csrf })).status).toBe(404);

    // Preview: the run starts, and once complete the page says what it found.
    const preview = await postForm(`/app/model/${version}/preview`, cookie, { _csrf: csrf });
    expect(preview.status).toBe(303);
    expect(preview.headers.get('Location')).toBe(`/app/model?version=${version}&done=preview`);
    const result = (await waitRun(`/v1/models/${version}/preview`)).result;
    expect(result.affected).toBeGreaterThanOrEqual(users.length);
    const after = await page(`/app/model?version=${version}`, cookie);
    expect(after.html).not.toContain('data-poll=');
    const sentence = /<p class="notice" data-preview-sentence[^>]*>([^<]*)<\/p>/.exec(after.html)![1];
    const top = result.moves.filter((m: any) => m.from !== m.to).sort((a: any, b: any) => b.leads - a.leads)[0];
    const name = (id: string) => activeModel().types[0].tierNames[activeModel().types[0].tierIds.indexOf(id)];
    expect(sentence).toContain(`${top.leads} lead${top.leads === 1 ? '' : 's'} move${top.leads === 1 ? 's' : ''} ${name(top.from)} → ${name(top.to)}`);
    expect(sentence).toContain(`${result.affected} of ${result.leads} leads affected.`);
    for (const m of result.moves) expect(after.html).toContain(`<td class="n" data-move="${m.from}&gt;${m.to}">${m.leads}</td>`);
    expect(after.html).toContain('data-conversion="hot"');

    // Publish: the draft scores, every lead is rescored; the page shows the run's progress.
    const published = await postForm(`/app/model/${version}/publish`, cookie, { _csrf: csrf });
    expect(published.status).toBe(303);
    const { published: ref } = await api('/v1/models');
    expect(ref.version).toBe(version);
    // Under way (the run waits 6 s for cached publications to expire before its sweep): the page polls itself.
    const during = await page('/app/model', cookie);
    expect(during.html).toContain('<div id="model-live" data-live-region="true" data-poll="2000">');
    expect(during.html).not.toContain(`data-run="publish-${ref.seq}" data-status="complete"`);
    const run = await waitRun(`/v1/models/${version}/publish`);
    const pub = await page('/app/model', cookie);
    expect(pub.html).toContain(`data-published="${version}"`);
    expect(pub.html).toMatch(new RegExp(`<p data-run="publish-${ref.seq}" data-status="complete">Rescoring complete: ${run.progress.leads} of \\d+ leads done`));
    // The editor now holds the published draft's body, its names escaped.
    expect(pub.html).not.toContain('<img src=x');
    expect(pub.html).toContain('Other page &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(/<tr data-version="(\d+)"[^>]*>.*?Roll back to \d+/.exec(pub.html)).not.toBeNull();
    // Publishing it again is refused with the API's answer.
    expect((await postForm(`/app/model/${version}/publish`, cookie, { _csrf: csrf })).status).toBe(409);

    // A lead's chart marks the publication; the lead is under the new version.
    const lead = await page(`/app/leads/${users[0]}`, cookie);
    expect(island(lead.html, 'lead-chart').markers).toContainEqual({ x: Date.parse((await api(`/v1/models/${version}`)).publications.at(-1).at) / 1000, label: `model v${version}` });
    expect(lead.html).toContain(`<dd>b2b-default v${version}</dd>`);

    // Roll back to the bundled file's version.
    const back = await postForm(`/app/model/${file}/rollback`, cookie, { _csrf: csrf });
    expect(back.status).toBe(303);
    expect(back.headers.get('Location')).toBe(`/app/model?version=${file}&done=rollback`);
    expect((await api('/v1/models')).published.version).toBe(file);
    await waitRun(`/v1/models/${file}/publish`);
    expect((await page(back.headers.get('Location')!, cookie)).html).toContain(`Rolled back to version ${file}`);
    // A draft cannot be "rolled back" to.
    const another = await postForm('/app/model/drafts', cookie, { _csrf: csrf, model: JSON.stringify(DRAFT) });
    const draft = Number(/version=(\d+)/.exec(another.headers.get('Location')!)![1]);
    expect((await postForm(`/app/model/${draft}/rollback`, cookie, { _csrf: csrf })).status).toBe(409);
  });
});

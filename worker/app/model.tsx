/**
 * The model page (/app/model): the deployment's model versions, the current publication and its rescoring run's
 * progress, a draft editor checked as `POST /v1/models` checks a draft, and per version the impact preview,
 * Publish and Roll back — the functions of worker/routes/models.ts, never HTTP. A page with a run under way polls
 * itself (static/app.js, `data-poll`) until the run ends.
 */
import type { Context } from 'hono';
import type { ConfigProblem } from '../config.js';
import { fail } from '../errors.js';
import { activeModel } from '../model.js';
import type { PreviewResult, RunView } from '../model-run.js';
import { draftProblems, getVersion, listVersions, publishedRef, storeDraft, type ModelVersion } from '../models.js';
import { checkVersion, DRAFT_LIMIT, findRun, startPreview, startPublish } from '../routes/models.js';
import { ActionHeader, CsrfField, Layout, NumCell, pct, when } from './layout.js';
import { formOf, type AppEnv, type Session } from './session.js';

/** Who the dashboard records as having published or drafted (a session is a secret key's, not a person's). */
const BY = 'dashboard';
/** How often a page with a run under way fetches itself again. */
const POLL_MS = 2_000;
/** A run the engine does not know yet counts as starting for this long after it was recorded. */
const STARTING_MS = 60_000;

const levelName = (id: string) => {
  const t = activeModel().types[0];
  return t.tierNames[t.tierIds.indexOf(id)] ?? id;
};

const running = (run: RunView | null) => !!run && (['queued', 'running', 'waiting', 'paused'].includes(run.status) || (run.status === 'unknown' && Date.now() - Date.parse(run.createdAt) < STARTING_MS));

/** The preview as a sentence: the biggest moves, then the level whose conversion changes most. */
export function previewSentence(r: PreviewResult): string {
  const moves = r.moves.filter((m) => m.from !== m.to).sort((a, b) => b.leads - a.leads);
  const parts = moves.length
    ? [moves.slice(0, 3).map((m) => `${m.leads} lead${m.leads === 1 ? '' : 's'} move${m.leads === 1 ? 's' : ''} ${levelName(m.from)} → ${levelName(m.to)}`).join(', ')]
    : [`no lead of ${r.leads} changes level`];
  const changed = r.conversion
    .filter((c) => c.now.rate !== null && c.draft.rate !== null && c.now.rate !== c.draft.rate)
    .sort((a, b) => Math.abs(b.draft.rate! - b.now.rate!) - Math.abs(a.draft.rate! - a.now.rate!))[0];
  if (changed) parts.push(`conversion in ${levelName(changed.level)} ${changed.draft.rate! > changed.now.rate! ? 'rises' : 'falls'} from ${Math.round(changed.now.rate! * 100)} % to ${Math.round(changed.draft.rate! * 100)} %`);
  const s = parts.join('; ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function Progress(props: { run: RunView; total: number }) {
  const p = props.run.progress;
  return (
    <p data-run={props.run.id} data-status={props.run.status}>
      {props.run.kind === 'publish' ? 'Rescoring' : 'Preview'} {props.run.status}: {p.leads} of {Math.max(props.total, p.leads)} leads done ({p.shardsDone} of {p.shards} shards)
      {p.failed ? `, ${p.failed} failed (${p.failedKeys.join(', ')})` : ', none failed'}
      {props.run.error ? ` — ${props.run.error.name}: ${props.run.error.message}` : ''}
      {p.superseded ? ' — stopped: a later publication took over' : ''}
    </p>
  );
}

const SIDES = [
  ['now', 'now'],
  ['draft', 'under the draft'],
] as const;

function Preview(props: { run: RunView; total: number }) {
  const r = props.run.result!;
  const levels = activeModel().types[0].tierIds;
  const cell = (from: string, to: string) => r.moves.find((m) => m.from === from && m.to === to)?.leads ?? 0;
  return (
    <div data-preview={props.run.id}>
      <Progress run={props.run} total={props.total} />
      <p class="notice" data-preview-sentence>
        {r.complete ? '' : 'So far: '}
        {previewSentence(r)}. {r.affected} of {r.leads} leads affected.
      </p>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Level now (rows) against level under the draft (columns)</caption>
          <thead>
            <tr>
              <th>Now ↓ / draft →</th>
              {levels.map((l) => (
                <th class="n">{levelName(l)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {levels.map((from) => (
              <tr>
                <th>{levelName(from)}</th>
                {levels.map((to) => (
                  <td class="n" data-move={`${from}>${to}`}>
                    {cell(from, to)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="table-wrap">
        <table class="cards">
          <thead>
            <tr>
              <th>Level</th>
              {SIDES.map(([, label]) => (
                <>
                  <th class="n">Leads {label}</th>
                  <th class="n">Conversion {label}</th>
                </>
              ))}
            </tr>
          </thead>
          <tbody>
            {r.conversion.map((c) => (
              <tr data-conversion={c.level}>
                <td data-label="Level">{levelName(c.level)}</td>
                {SIDES.map(([side, label]) => (
                  <>
                    <NumCell label={`Leads ${label}`}>{c[side].leads}</NumCell>
                    <NumCell label={`Conversion ${label}`}>{pct(c[side].rate)}</NumCell>
                  </>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Action(props: { session: Session; version: number; action: 'preview' | 'publish' | 'rollback'; label: string; secondary?: boolean }) {
  return (
    <form method="post" action={`/app/model/${props.version}/${props.action}`} class="inline">
      <CsrfField session={props.session} />
      <button type="submit" class={props.secondary ? 'secondary' : undefined}>
        {props.label}
      </button>
    </form>
  );
}

function Versions(props: { versions: ModelVersion[]; session: Session; selected: number }) {
  return (
    <div class="table-wrap">
      <table class="cards">
        <thead>
          <tr>
            <th>Version</th>
            <th>State</th>
            <th>When</th>
            <th>By</th>
            <th>Fingerprint</th>
            <th>Note</th>
            <ActionHeader />
          </tr>
        </thead>
        <tbody>
          {[...props.versions].reverse().map((v) => (
            <tr data-version={v.version} aria-current={v.version === props.selected ? 'true' : undefined}>
              <td data-label="Version">
                <a href={`/app/model?version=${v.version}`}>
                  {v.version} ({v.modelId})
                </a>
              </td>
              <td data-label="State">{v.status}</td>
              <td data-label="When">
                {when(v.createdAt)}
                {v.publishedAt ? `, published ${when(v.publishedAt)}` : ''}
              </td>
              <td data-label="By">{v.createdBy}</td>
              <td data-label="Fingerprint">
                <code>{v.fingerprint.slice(0, 12)}</code>
              </td>
              <td data-label="Note">{v.note ?? '—'}</td>
              <td data-label="Action">
                {v.status === 'draft' && <Action session={props.session} version={v.version} action="preview" label="Preview" secondary />}{' '}
                {v.status === 'draft' && <Action session={props.session} version={v.version} action="publish" label="Publish" />}
                {v.status === 'retired' && <Action session={props.session} version={v.version} action="rollback" label={`Roll back to ${v.version}`} secondary />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface Editor {
  text: string;
  note: string;
  problems: ConfigProblem[];
}

async function render(c: Context<AppEnv>, editor: Editor | null, status: 200 | 400) {
  const session = c.get('session');
  const [versions, ref, total] = await Promise.all([listVersions(c.env), publishedRef(c.env), c.env.INDEX.prepare('SELECT COUNT(*) AS n FROM leads').first<{ n: number }>()]);
  const leads = total?.n ?? 0;
  const asked = c.req.query('version');
  const newestDraft = [...versions].reverse().find((v) => v.status === 'draft');
  const selected = asked ? checkVersion(asked) : (newestDraft?.version ?? ref.version);
  const shown = versions.find((v) => v.version === selected);
  if (!shown) fail(404, 'model_not_found', `no model version ${selected}; the model page lists them`);
  const [published, publishRun, previewRun] = await Promise.all([getVersion(c.env, ref.version), findRun(c.env, ref.version, 'publish'), findRun(c.env, selected, 'preview')]);
  const text = editor?.text ?? JSON.stringify(published?.model ?? null, null, 2);
  const poll = running(publishRun) || running(previewRun);
  const notice = c.req.query('done');
  return c.html(
    <Layout title="Model" section="model" session={session}>
      {notice && (
        <p class="notice" role="status">
          {{ saved: `Draft ${selected} saved.`, preview: `Preview of version ${selected} started.`, publish: `Version ${selected} published: every lead is being rescored.`, rollback: `Rolled back to version ${selected}: every lead is being rescored.` }[notice] ?? ''}
        </p>
      )}
      <div id="model-live" data-live-region data-poll={poll ? String(POLL_MS) : undefined}>
        <section class="panel" aria-labelledby="pub-h">
          <h2 id="pub-h">Published</h2>
          <p>
            Version <strong data-published={ref.version}>{ref.version}</strong> (publication {ref.seq}
            {published?.publications.at(-1) ? `, ${when(published.publications.at(-1)!.at)} by ${published.publications.at(-1)!.by}` : ''}).
          </p>
          {publishRun ? <Progress run={publishRun} total={leads} /> : <p class="muted">No rescoring run: the first version scored every lead from the start.</p>}
        </section>
        <section aria-labelledby="versions-h">
          <h2 id="versions-h">Versions</h2>
          <Versions versions={versions} session={session} selected={selected} />
        </section>
        <section aria-labelledby="preview-h" id="preview">
          <h2 id="preview-h">Impact of version {selected}</h2>
          {previewRun?.result ? (
            <Preview run={previewRun} total={leads} />
          ) : shown.status === 'draft' ? (
            <p class="muted">No preview yet: Preview replays every lead's history under this draft (nothing is written).</p>
          ) : (
            <p class="muted">Version {selected} is {shown.status}; previews are for drafts.</p>
          )}
        </section>
      </div>
      <section aria-labelledby="draft-h">
        <h2 id="draft-h">New draft</h2>
        <p class="muted">The model file as JSON, prefilled with the published version ({ref.version}); checked with the site and teams files, as a deploy checks it. Saving stores a draft; nothing scores with it until it is published.</p>
        {editor && editor.problems.length > 0 && (
          <div class="error" role="alert" id="draft-problems">
            <p>
              The draft has {editor.problems.length} problem{editor.problems.length === 1 ? '' : 's'}; nothing was saved:
            </p>
            <ul>
              {editor.problems.slice(0, 50).map((p) => (
                <li data-problem={p.path}>
                  <code>{p.path || '(file)'}</code>: {p.reason}
                </li>
              ))}
            </ul>
          </div>
        )}
        <form method="post" action="/app/model/drafts" class="stack wide">
          <CsrfField session={session} />
          <label>
            Model JSON
            <textarea name="model" rows={24} spellcheck={false} aria-describedby={editor?.problems.length ? 'draft-problems' : undefined}>
              {text}
            </textarea>
          </label>
          <label>
            Note (why)
            <input name="note" maxlength={1000} value={editor?.note ?? ''} />
          </label>
          <button type="submit">Save draft</button>
        </form>
      </section>
    </Layout>,
    status,
  );
}

export const modelPage = (c: Context<AppEnv>) => render(c, null, 200);

/** `POST /app/model/drafts`: the editor's JSON checked as `POST /v1/models` checks it; problems shown, nothing stored. */
export async function saveDraft(c: Context<AppEnv>) {
  const form = await formOf(c);
  const text = typeof form.model === 'string' ? form.model : '';
  const note = typeof form.note === 'string' ? form.note.trim().slice(0, 1000) : '';
  let problems: ConfigProblem[];
  let model: unknown;
  if (text.length > DRAFT_LIMIT) problems = [{ file: 'model', path: '(file)', reason: `the draft is ${text.length} characters; the limit is ${DRAFT_LIMIT}` }];
  else {
    try {
      model = JSON.parse(text);
      problems = draftProblems(model);
    } catch (err) {
      problems = [{ file: 'model', path: '(file)', reason: `not JSON: ${(err as Error).message}` }];
    }
  }
  if (problems.length) return render(c, { text, note, problems }, 400);
  const stored = await storeDraft(c.env, model, BY, note || null);
  return c.redirect(`/app/model?version=${stored.version}&done=saved`, 303);
}

/** `POST /app/model/{version}/preview|publish|rollback`: the API's functions, then back to the page. */
export async function modelAction(c: Context<AppEnv>) {
  const version = checkVersion(c.req.param('version') ?? '');
  const action = c.req.param('action');
  if (action === 'preview') await startPreview(c.env, version);
  else if (action === 'publish' || action === 'rollback') await startPublish(c.env, version, action === 'rollback', BY);
  else fail(404, 'not_found', `the model page has no action "${String(action).slice(0, 20)}" (preview, publish, rollback)`);
  return c.redirect(`/app/model?version=${version}&done=${action}`, 303);
}

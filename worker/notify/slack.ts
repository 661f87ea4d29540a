/**
 * The Slack form of a notification: Block Kit for an incoming webhook (https://api.slack.com/block-kit) — a
 * header, the lead and the change as fields, the top reasons, the treatment, and a button to the profile.
 * Within Block Kit's limits: a header's text is at most 150 characters, a field's 2,000, a section's 3,000.
 */
import { headline, type NotificationBody } from './message.js';

/** Slack's mrkdwn treats &, < and > as control characters. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function slackMessage(body: NotificationBody): Record<string, unknown> {
  const { lead, change, reasons, treatment } = body.data;
  const title = headline(body);
  const fields: { type: 'mrkdwn'; text: string }[] = [];
  if (lead) {
    fields.push({ type: 'mrkdwn', text: cut(`*Lead*\n${lead.profileUrl ? `<${lead.profileUrl}|${esc(lead.email ?? lead.id)}>` : esc(lead.email ?? lead.id)}`, 2000) });
    fields.push({ type: 'mrkdwn', text: `*Scores*\nengagement ${lead.scores.engagement} · lead ${lead.scores.lead} · momentum ${lead.scores.momentum >= 0 ? '+' : ''}${lead.scores.momentum}` });
    fields.push({ type: 'mrkdwn', text: `*Fit*\n${lead.fit ? `${lead.fit.grade} (${lead.fit.score})` : 'not graded'}` });
  }
  const sla = body.data.sla;
  if (sla) fields.push({ type: 'mrkdwn', text: cut(`*SLA*\n${esc(`${sla.team.name}, ${sla.levelName}: started ${sla.startedAt}, due ${sla.dueAt}, not met`)}`, 2000) });
  else if (change.to) fields.push({ type: 'mrkdwn', text: cut(`*Change*\n${esc(`${change.fromName ?? change.from ?? '—'} → ${change.toName ?? change.to}`)}`, 2000) });
  fields.push({ type: 'mrkdwn', text: cut(`*Team*\n${esc(body.data.team.name)}`, 2000) });
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(title, 150), emoji: true } },
    { type: 'section', fields },
  ];
  if (reasons.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`*Why*\n${reasons.map((r) => `• ${esc(r.text)}`).join('\n')}`, 3000) } });
  if (treatment) {
    const sla = treatment.responseSla ? (treatment.responseSla.hours ? `${treatment.responseSla.hours} h` : `${treatment.responseSla.businessDays} business days`) : 'none';
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(esc(`Treatment: ${treatment.salesInvolvement} · ${treatment.outreach} · ${treatment.content} · respond within ${sla}`), 3000) }] });
  }
  if (lead?.profileUrl) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open profile' }, url: lead.profileUrl }] });
  // `text` is what notifications and clients without blocks show.
  return { text: cut(title, 3000), blocks };
}

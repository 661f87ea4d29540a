/**
 * The email form of a notification, sent through an email provider's HTTP API: Resend's `POST /emails`
 * (Authorization: Bearer EMAIL_API_KEY), whose `Idempotency-Key` makes a retry of a send that did get through
 * no second email. EMAIL_API_URL points it elsewhere (a compatible provider, or the tests' loopback receiver).
 */
import { headline, type NotificationBody } from './message.js';

export const DEFAULT_EMAIL_API_URL = 'https://api.resend.com';

const escHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function emailMessage(body: NotificationBody, from: string, to: string[]): { from: string; to: string[]; subject: string; text: string; html: string } {
  const { lead, reasons, treatment } = body.data;
  const subject = headline(body);
  const lines = [
    subject,
    '',
    ...(lead ? [`Engagement score ${lead.scores.engagement}, lead score ${lead.scores.lead}; fit ${lead.fit ? lead.fit.grade : 'not graded'}.`] : []),
    ...(reasons.length ? ['', 'Why:', ...reasons.map((r) => `- ${r.text}`)] : []),
    ...(treatment ? ['', `Treatment: ${treatment.salesInvolvement}; ${treatment.outreach}; ${treatment.content}.`] : []),
    ...(lead?.profileUrl ? ['', `Profile: ${lead.profileUrl}`] : []),
  ];
  const html = `<p><strong>${escHtml(subject)}</strong></p>${lead ? `<p>Engagement score ${lead.scores.engagement}, lead score ${lead.scores.lead}; fit ${lead.fit ? escHtml(lead.fit.grade) : 'not graded'}.</p>` : ''}${
    reasons.length ? `<ul>${reasons.map((r) => `<li>${escHtml(r.text)}</li>`).join('')}</ul>` : ''
  }${treatment ? `<p>Treatment: ${escHtml(`${treatment.salesInvolvement}; ${treatment.outreach}; ${treatment.content}`)}.</p>` : ''}${lead?.profileUrl ? `<p><a href="${escHtml(lead.profileUrl)}">Open the profile</a></p>` : ''}`;
  return { from, to, subject, text: lines.join('\n'), html };
}

import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { errorBox, noticeBox } from '../partials/form.ts';
import { lockMessage } from '../mfa/messages.ts';
import type { TotpStatusRow } from '../../src/mfa/totp/totp-admin.ts';
import { utcMinuteWithZone } from '../../src/core/utc-minute.ts';

/** Said, not only counted: with none left, a lost phone means no way to sign in without the helpdesk. */
const NO_BACKUP_CODES_LEFT = 'You have no backup codes left. Make new ones now: without them, losing your phone means you cannot sign in until your helpdesk helps you.';

const STATUS_TEXT = { Active: 'Active', Locked: 'Locked', Unregistered: 'Not set up' } as const;

/**
 * The user's own second-factor status, with the actions that fit it. `newCodesHref`: the page that
 * asks before making new backup codes (they void the old ones).
 */
export function securityPage(options: { status: TotpStatusRow; now: number; enrollHref: string; replaceHref: string; newCodesHref: string }): SafeHtml {
  const { status } = options;
  const registered = status.status !== 'Unregistered';
  const attempt = status.lastAttempt;
  return layout({
    title: 'My security settings',
    body: html`<h1>My security settings</h1>
<p>Signed in as <strong>${status.username}</strong>.</p>
<h2>Authenticator app</h2>
<dl>
<dt>Status</dt><dd id="totp-status">${STATUS_TEXT[status.status]}</dd>
${status.registeredAt !== undefined ? html`<dt>Set up</dt><dd>${utcMinuteWithZone(status.registeredAt)}</dd>` : ''}
${status.lastSuccess ? html`<dt>Last successful code</dt><dd>${utcMinuteWithZone(status.lastSuccess.at)} from ${status.lastSuccess.ip}</dd>` : ''}
${attempt ? html`<dt>Last attempt</dt><dd>${utcMinuteWithZone(attempt.at)} from ${attempt.ip} (${attempt.ok ? 'accepted' : 'refused'})</dd>` : ''}
${registered ? html`<dt>Backup codes left</dt><dd id="backup-codes-left">${status.backupCodesLeft}</dd>` : ''}
</dl>
${errorBox(status.lockedUntil !== undefined ? lockMessage(status.lockedUntil, options.now) : undefined)}
${noticeBox(registered && status.backupCodesLeft === 0 ? NO_BACKUP_CODES_LEFT : undefined)}
${registered
  ? html`<p><a class="button secondary" href="${options.newCodesHref}">Make new backup codes</a></p>
<p>New phone? <a href="${options.replaceHref}">Move your authenticator app to it</a>. The old app keeps working until the new one is set up.</p>`
  : html`<p>Add a second step to your sign-in: a code from an authenticator app on your phone.</p>
<p><a class="button" href="${options.enrollHref}">Set up an authenticator app</a></p>`}`,
  });
}

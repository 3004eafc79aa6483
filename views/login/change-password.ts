import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field, noticeBox } from '../partials/form.ts';

/**
 * `username`: the account whose password changes, in a hidden field, so that a password manager
 * knows which entry to update. `error`: about the passwords typed, so the fields point to it.
 */
export function changePasswordPage(options: { action: string; csrf: string; username: string; reason: string; rules?: readonly string[]; error?: string; cancel?: { action: string; rpName: string } }): SafeHtml {
  const invalid = !!options.error;
  const rules = options.rules?.length
    ? html`<p id="password-rules-intro">Your new password must:</p>
<ul class="rules" aria-labelledby="password-rules-intro">${options.rules.map((rule) => html`<li>${rule}</li>`)}</ul>`
    : html``;
  return layout({
    title: 'Change your password',
    body: html`<h1>Change your password</h1>
${noticeBox(options.reason)}
${errorBox(options.error)}
${rules}
<form method="post" action="${options.action}">
${csrfField(options.csrf)}
<input type="hidden" name="username" value="${options.username}" autocomplete="username">
${field({ name: 'currentPassword', label: 'Current password', type: 'password', autocomplete: 'current-password', autofocus: true, invalid })}
${field({ name: 'newPassword', label: 'New password', type: 'password', autocomplete: 'new-password', invalid })}
${field({ name: 'confirmPassword', label: 'New password again', type: 'password', autocomplete: 'new-password', invalid })}
<button type="submit">Change password</button>
</form>
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

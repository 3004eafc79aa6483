import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field, FORM_ERROR_ID, noticeBox } from '../partials/form.ts';

export type ChangePasswordField = 'currentPassword' | 'newPassword' | 'confirmPassword';

/** Read with the new password field; a block around the list, whose own name is only its introduction. */
const RULES_ID = 'password-rules';

/**
 * `username`: the account whose password changes, in a hidden field, so that a password manager
 * knows which entry to update. `error`: why the form sent before was refused; `invalidFields`: the
 * fields it is about, marked so. The focus goes to the current password, which is always typed again
 * (passwords are never sent back), and the error is read with it.
 */
export function changePasswordPage(options: { action: string; csrf: string; username: string; reason: string; rules?: readonly string[]; error?: string; invalidFields?: readonly ChangePasswordField[]; cancel?: { action: string; rpName: string } }): SafeHtml {
  const invalid = (name: ChangePasswordField) => !!options.error && !!options.invalidFields?.includes(name);
  const rules = options.rules?.length
    ? html`<div id="${RULES_ID}"><p id="password-rules-intro">Your new password must:</p>
<ul class="rules" aria-labelledby="password-rules-intro">${options.rules.map((rule) => html`<li>${rule}</li>`)}</ul></div>`
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
${field({ name: 'currentPassword', label: 'Current password', type: 'password', autocomplete: 'current-password', autofocus: true, invalid: invalid('currentPassword'), describedBy: options.error ? [FORM_ERROR_ID] : [] })}
${field({ name: 'newPassword', label: 'New password', type: 'password', autocomplete: 'new-password', invalid: invalid('newPassword'), describedBy: options.rules?.length ? [RULES_ID] : [] })}
${field({ name: 'confirmPassword', label: 'New password again', type: 'password', autocomplete: 'new-password', invalid: invalid('confirmPassword') })}
<button type="submit">Change password</button>
</form>
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field, noticeBox } from '../partials/form.ts';

export function changePasswordPage(options: { action: string; csrf: string; reason: string; error?: string; cancel?: { action: string; rpName: string } }): SafeHtml {
  return layout({
    title: 'Change your password',
    body: html`<h1>Change your password</h1>
${noticeBox(options.reason)}
${errorBox(options.error)}
<form method="post" action="${options.action}">
${csrfField(options.csrf)}
${field({ name: 'currentPassword', label: 'Current password', type: 'password', autocomplete: 'current-password', autofocus: true })}
${field({ name: 'newPassword', label: 'New password', type: 'password', autocomplete: 'new-password' })}
${field({ name: 'confirmPassword', label: 'New password again', type: 'password', autocomplete: 'new-password' })}
<button type="submit">Change password</button>
</form>
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

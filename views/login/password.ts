import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field } from '../partials/form.ts';

/** `hint`: the administrator's sign-in hint (messages.signInHint), already filled in. */
export function passwordPage(options: { action: string; csrf: string; rpName: string; username?: string; error?: string; hint?: string; cancel?: { action: string; rpName: string } }): SafeHtml {
  return layout({
    title: 'Sign in',
    body: html`<h1>Sign in</h1>
<p>to continue to <strong>${options.rpName}</strong></p>
${options.hint ? html`<p class="hint">${options.hint}</p>` : ''}
${errorBox(options.error)}
<form method="post" action="${options.action}">
${csrfField(options.csrf)}
${field({ name: 'username', label: 'Username', value: options.username, autocomplete: 'username', autofocus: !options.username, verbatim: true })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', autofocus: !!options.username, invalid: !!options.error })}
<button type="submit">Sign in</button>
</form>
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

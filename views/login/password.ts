import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field, FORM_ERROR_ID } from '../partials/form.ts';
import { SIGNED_IN_USER_FIELD, switchAccountForm, userNamed, type SignedInAs } from './signed-in-as.ts';

/**
 * `hint`: the administrator's sign-in hint (messages.signInHint), already filled in. `again`: the
 * password of the user signed in, asked again before `purpose`: the page names them, with "Not you?"
 * for anyone else. Its form says whom it asked (their id) and sends `login`, the name they signed in
 * with (not typed again, and what a password manager saves): the password step checks the password
 * for that account by its id, whatever that name finds now (submitPassword). `signedOut`: `error` says
 * why the password is asked again, not that anything typed was wrong.
 */
export function passwordPage(options: { action: string; csrf: string; rpName: string; username?: string; error?: string; signedOut?: boolean; hint?: string; cancel?: { action: string; rpName: string }; again?: { user: SignedInAs; login: string; purpose: string } }): SafeHtml {
  const { again } = options;
  return layout({
    title: 'Sign in',
    body: html`<h1>Sign in</h1>
<p>to continue to <strong>${options.rpName}</strong></p>
${again ? html`<p class="signed-in-as">You are signed in as ${userNamed(again.user)}. Enter your password again to ${again.purpose}.</p>` : ''}
${options.hint ? html`<p class="hint">${options.hint}</p>` : ''}
${errorBox(options.error)}
<form method="post" action="${options.action}">
${csrfField(options.csrf)}
${again
  ? html`<input type="hidden" name="username" value="${again.login}" autocomplete="username">
<input type="hidden" name="${SIGNED_IN_USER_FIELD}" value="${again.user.userId}">`
  : field({ name: 'username', label: 'Username', value: options.username, autocomplete: 'username', autofocus: !options.username, verbatim: true, describedBy: options.error && !options.username ? [FORM_ERROR_ID] : [] })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', autofocus: !!options.username || !!again, invalid: !!options.error && !options.signedOut })}
<button type="submit">Sign in</button>
</form>
${again ? switchAccountForm(again.user, options.csrf) : ''}
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

import { html, type SafeHtml } from '../../src/http/html.ts';
import { csrfField } from '../partials/form.ts';

/**
 * Whose sign-in a second-factor page is for. At a browser someone left signed in, the next person
 * would otherwise type their own codes there, each one counted as that user's wrong code.
 */
export interface SignedInAs {
  /** The display name, when the user has one. */
  name?: string;
  username: string;
  /** The form that ends this browser's sign-in and goes back to the password page of the same sign-in. */
  switchAction: string;
}

/** "Signed in as …", near the top of the page, before anything is typed. */
export function signedInAsLine(user: SignedInAs): SafeHtml {
  const { name, username } = user;
  const named = name !== undefined && name !== '' && name !== username;
  return html`<p class="signed-in-as">Signed in as <strong>${named ? name : username}</strong>${named ? html` (${username})` : ''}.</p>`;
}

/** "Not you? Sign in as someone else": after the page's own form, which stays the first one. */
export function switchAccountForm(user: SignedInAs, csrf: string): SafeHtml {
  return html`<form method="post" action="${user.switchAction}" class="switch-account">
${csrfField(csrf)}
<button type="submit" class="secondary">Not you? Sign in as someone else</button>
</form>`;
}

import { html, type SafeHtml } from '../../src/http/html.ts';
import { csrfField } from '../partials/form.ts';

/**
 * Whose sign-in a second-factor page (or the password asked again before a setup) is for. At a
 * browser someone left signed in, the next person would otherwise type their own codes there, each
 * one counted as that user's wrong code.
 */
export interface SignedInAs {
  /** The display name, when the user has one. */
  name?: string;
  username: string;
  /**
   * The user's id, sent back by the "Not you?" form: only the user the page named is signed out, not
   * whoever signed in on this browser since the page was shown.
   */
  userId: string;
  /** The form that ends this browser's sign-in and goes back to the password page of the same sign-in. */
  switchAction: string;
}

/** The "Not you?" form's field that names the user the page was shown to. */
export const SIGNED_IN_USER_FIELD = 'account';

/** The user as these pages name them: the display name, and the username too when they differ. */
export function userNamed(user: Pick<SignedInAs, 'name' | 'username'>): SafeHtml {
  const { name, username } = user;
  const named = name !== undefined && name !== '' && name !== username;
  return html`<strong>${named ? name : username}</strong>${named ? html` (${username})` : ''}`;
}

/** "Signed in as …", near the top of the page, before anything is typed. */
export function signedInAsLine(user: SignedInAs): SafeHtml {
  return html`<p class="signed-in-as">Signed in as ${userNamed(user)}.</p>`;
}

/** "Not you? Sign in as someone else": after the page's own form, which stays the first one. */
export function switchAccountForm(user: SignedInAs, csrf: string): SafeHtml {
  return html`<form method="post" action="${user.switchAction}" class="switch-account">
${csrfField(csrf)}
<input type="hidden" name="${SIGNED_IN_USER_FIELD}" value="${user.userId}">
<button type="submit" class="secondary">Not you? Sign in as someone else</button>
</form>`;
}

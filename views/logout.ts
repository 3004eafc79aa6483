import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';
import { csrfField } from './partials/form.ts';

/**
 * Asks the person signed in before signing them out; someone not signed in is told so, with nothing to
 * press. Without `username` (a browser left idle past its timeout, whose session still backs its
 * applications' tokens) the page does not say who was signed in: whoever sits there now may not be them.
 */
export function logoutConfirmPage(signedIn: { csrf: string; username?: string } | undefined): SafeHtml {
  return layout({
    title: 'Sign out',
    body: signedIn
      ? html`<h1>Sign out</h1>
${signedIn.username === undefined ? html`<p>A sign-in of this browser is still in use by its applications.</p>` : html`<p>You are signed in as <strong>${signedIn.username}</strong>.</p>`}
<form method="post" action="/logout">
${csrfField(signedIn.csrf)}
<button type="submit">Sign out</button>
</form>`
      : html`<h1>Sign out</h1>
<p>You are not signed in.</p>`,
  });
}

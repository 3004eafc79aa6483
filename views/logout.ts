import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';
import { csrfField } from './partials/form.ts';

/** Asks the person signed in before signing them out; someone not signed in is told so, with nothing to press. */
export function logoutConfirmPage(signedIn: { csrf: string; username: string } | undefined): SafeHtml {
  return layout({
    title: 'Sign out',
    body: signedIn
      ? html`<h1>Sign out</h1>
<p>You are signed in as <strong>${signedIn.username}</strong>.</p>
<form method="post" action="/logout">
${csrfField(signedIn.csrf)}
<button type="submit">Sign out</button>
</form>`
      : html`<h1>Sign out</h1>
<p>You are not signed in.</p>`,
  });
}

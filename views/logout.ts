import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';
import { csrfField } from './partials/form.ts';

export function logoutConfirmPage(options: { csrf: string; username?: string }): SafeHtml {
  return layout({
    title: 'Sign out',
    body: html`<h1>Sign out</h1>
<p>${options.username ? html`You are signed in as <strong>${options.username}</strong>.` : 'You are not signed in.'}</p>
<form method="post" action="/logout">
${csrfField(options.csrf)}
<button type="submit">Sign out</button>
</form>`,
  });
}

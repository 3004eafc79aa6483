import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { csrfField, errorBox, field } from '../partials/form.ts';

export function bootstrapPage(options: { csrf: string; error?: string; username?: string }): SafeHtml {
  return layout({
    title: 'Create the first administrator',
    body: html`<h1>Create the first administrator</h1>
<p>Enter the one-time bootstrap secret that Stepgate printed when it first started.</p>
${errorBox(options.error)}
<form method="post" action="/admin/bootstrap">
${csrfField(options.csrf)}
${field({ name: 'secret', label: 'Bootstrap secret', type: 'password', autocomplete: 'off', autofocus: true })}
${field({ name: 'username', label: 'Administrator username', value: options.username, autocomplete: 'username', verbatim: true })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password' })}
${field({ name: 'confirmPassword', label: 'Password again', type: 'password', autocomplete: 'new-password' })}
<button type="submit">Create administrator</button>
</form>`,
  });
}

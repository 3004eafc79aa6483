import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { csrfField } from '../partials/form.ts';

export function expiryWarningPage(options: { days: number; changeAction: string; continueAction: string; csrf: string }): SafeHtml {
  const when = options.days <= 1 ? 'within a day' : `in ${options.days} days`;
  return layout({
    title: 'Your password expires soon',
    body: html`<h1>Your password expires soon</h1>
<p class="notice" role="status">Your password expires ${when}. Change it now to avoid being locked out.</p>
<p><a class="button" href="${options.changeAction}">Change password now</a></p>
<form method="post" action="${options.continueAction}">
${csrfField(options.csrf)}
<button type="submit" class="secondary">Continue without changing</button>
</form>`,
  });
}

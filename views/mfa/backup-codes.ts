import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { csrfField, noticeBox } from '../partials/form.ts';

/** Where "continue" leads: a POST back into the sign-in, or a plain link (account page). */
export type ContinueTo = { action: string; csrf: string; label: string } | { href: string; label: string };

/** Shown right after the codes were made, until the user leaves the page: they are stored only as keyed hashes. */
export function backupCodesPage(options: { codes: string[]; notice?: string; next: ContinueTo }): SafeHtml {
  const { next } = options;
  return layout({
    title: 'Your backup codes',
    body: html`<h1>Your backup codes</h1>
${noticeBox(options.notice)}
<p>If you lose your phone, each of these codes lets you sign in once. Print them or store them somewhere safe: once you leave this page, they cannot be shown again.</p>
<ul class="backup-codes">
${options.codes.map((code) => html`<li><code>${code}</code></li>\n`)}
</ul>
${'href' in next
  ? html`<p><a class="button" href="${next.href}">${next.label}</a></p>`
  : html`<form method="post" action="${next.action}">
${csrfField(next.csrf)}
<button type="submit">${next.label}</button>
</form>`}`,
  });
}

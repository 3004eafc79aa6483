import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { csrfField } from '../partials/form.ts';

/** The form field that confirms it: a POST without it makes nothing (a stray or forged click voids no codes). */
export const CONFIRM_FIELD = 'confirm';

/** Asked before a new set voids the old one: the user may have printed or stored those codes. */
export function newBackupCodesPage(options: { codesLeft: number; action: string; csrf: string; back: { href: string; label: string } }): SafeHtml {
  const { codesLeft } = options;
  const effect = codesLeft > 0
    ? `Your ${codesLeft} remaining backup code${codesLeft === 1 ? '' : 's'} will stop working as soon as the new ones are made, including any you printed or stored.`
    : 'You have no unused backup codes left. The new ones are shown once, on the next page.';
  return layout({
    title: 'Make new backup codes?',
    body: html`<h1>Make new backup codes?</h1>
<p>${effect}</p>
<form method="post" action="${options.action}">
${csrfField(options.csrf)}
<input type="hidden" name="${CONFIRM_FIELD}" value="yes">
<button type="submit">Make new backup codes</button>
</form>
<p><a class="button secondary" href="${options.back.href}">${options.back.label}</a></p>`,
  });
}

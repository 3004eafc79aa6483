import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { csrfField } from '../partials/form.ts';

/**
 * After a sign-in with a backup code, before the application: that code is spent, `left` remain, and
 * where new ones are made. Someone who lost their phone needs to know how close they are to none.
 */
export function backupCodeUsedPage(options: { left: number; rpName: string; securityHref: string; continueAction: string; csrf: string }): SafeHtml {
  const { left } = options;
  const count = left === 0 ? 'That was your last backup code: you have none left.' : `You have ${left} backup ${left === 1 ? 'code' : 'codes'} left.`;
  return layout({
    title: 'Backup code used',
    body: html`<h1>Backup code used</h1>
<p class="notice" role="status">You signed in with a backup code, so it no longer works. ${count}</p>
<p>${left === 0 ? 'Make a new set' : 'You can make a new set'} in <a href="${options.securityHref}">My security settings</a>${left === 0 ? ' before you need one again' : '; it replaces the codes you have now'}. If you lost your phone, you can move your sign-in to a new authenticator app there too.</p>
<form method="post" action="${options.continueAction}">
${csrfField(options.csrf)}
<button type="submit">Continue to ${options.rpName}</button>
</form>`,
  });
}

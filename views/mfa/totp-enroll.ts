import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field, noticeBox } from '../partials/form.ts';

export interface TotpEnrollOptions {
  action: string;
  csrf: string;
  /** Why setting up is asked for now ("Example App needs a second step…"). */
  reason: string;
  /** Base32 secret, for typing into the app when the QR code cannot be scanned. */
  secret: string;
  qrDataUri: string;
  digits: number;
  periodSeconds: number;
  algorithm: string;
  error?: string;
  /** Why a new secret is shown (the user signed in again during setup). */
  notice?: string;
  /** During a sign-in: "Cancel and go back" to this application (not on "My security"). */
  cancel?: { action: string; rpName: string };
}

/** Groups of four characters are easier to type. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

export function totpEnrollPage(options: TotpEnrollOptions): SafeHtml {
  const nonDefault = options.digits !== 6 || options.periodSeconds !== 30 || options.algorithm !== 'sha1';
  return layout({
    title: 'Set up your authenticator app',
    body: html`<h1>Set up your authenticator app</h1>
<p>${options.reason}</p>
${noticeBox(options.notice)}
${errorBox(options.error)}
<ol>
<li>Open an authenticator app on your phone and add an account by scanning this code:</li>
</ol>
<img class="qr" src="${options.qrDataUri}" width="200" height="200" alt="QR code to add this account to an authenticator app">
<p>Cannot scan it? Enter this key instead: <code id="totp-secret">${grouped(options.secret)}</code>${nonDefault ? html` (time-based, ${options.digits} digits, every ${options.periodSeconds} seconds, ${options.algorithm.toUpperCase()})` : ''}</p>
<ol start="2">
<li>Enter the code the app now shows, to confirm it works.</li>
</ol>
<form method="post" action="${options.action}">
${csrfField(options.csrf)}
${field({ name: 'code', label: 'Code from the app', autocomplete: 'one-time-code', inputmode: 'numeric', autofocus: true, invalid: !!options.error })}
<button type="submit">Confirm and activate</button>
</form>
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field, noticeBox } from '../partials/form.ts';
import { signedInAsLine, switchAccountForm, type SignedInAs } from '../login/signed-in-as.ts';

export interface TotpEnrollOptions {
  action: string;
  csrf: string;
  /** Why setting up is asked for now ("Example App needs a second step…"). */
  reason: string;
  /** How long is left and what to do if it runs out (setupTimeLimitMessage). */
  timeLimit: string;
  /** Base32 secret, for typing into the app when the QR code cannot be scanned. */
  secret: string;
  /** The otpauth:// URI the QR code holds: opens the app when it runs on the device showing this page. */
  uri: string;
  qrDataUri: string;
  digits: number;
  periodSeconds: number;
  algorithm: string;
  error?: string;
  /** Why a new secret is shown (the user signed in again during setup). */
  notice?: string;
  /** During a sign-in: "Cancel and go back" to this application (not on "My security"). */
  cancel?: { action: string; rpName: string };
  /** During a sign-in: whose account the app is set up for, with the way to sign in as someone else. */
  signedIn?: SignedInAs;
}

/** Read with the code field too: the focus starts there, past the text above it. */
const TIME_LIMIT_ID = 'setup-time-limit';

/** Groups of four characters are easier to read and type; authenticator apps ignore the spaces. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * The key sits in a block of its own, selected whole by one click or tap (a phone that runs the app
 * cannot scan its own screen; no copy button: the pages run no script).
 */
export function totpEnrollPage(options: TotpEnrollOptions): SafeHtml {
  const nonDefault = options.digits !== 6 || options.periodSeconds !== 30 || options.algorithm !== 'sha1';
  return layout({
    title: 'Set up your authenticator app',
    body: html`<h1>Set up your authenticator app</h1>
${options.signedIn ? signedInAsLine(options.signedIn) : ''}
<p>${options.reason}</p>
<p id="${TIME_LIMIT_ID}">${options.timeLimit}</p>
${noticeBox(options.notice)}
${errorBox(options.error)}
<ol>
<li>Open an authenticator app on your phone and add an account by scanning this code:</li>
</ol>
<img class="qr" src="${options.qrDataUri}" width="200" height="200" alt="QR code to add this account to an authenticator app">
<p>Is the app on this device? <a href="${options.uri}">Open in an authenticator app on this device</a>.</p>
<p>Cannot scan the code? Enter this key in the app instead (one click or tap selects all of it):</p>
<p class="secret"><code id="totp-secret">${grouped(options.secret)}</code></p>
${nonDefault ? html`<p>Key settings: time-based, ${options.digits} digits, every ${options.periodSeconds} seconds, ${options.algorithm.toUpperCase()}.</p>` : ''}
<ol start="2">
<li>Enter the code the app now shows, to confirm it works.</li>
</ol>
<form method="post" action="${options.action}">
${csrfField(options.csrf)}
${field({ name: 'code', label: 'Code from the app', autocomplete: 'one-time-code', inputmode: 'numeric', autofocus: true, invalid: !!options.error, describedBy: [TIME_LIMIT_ID] })}
<button type="submit">Confirm and activate</button>
</form>
${options.signedIn ? switchAccountForm(options.signedIn, options.csrf) : ''}
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

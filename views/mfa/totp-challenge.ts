import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field } from '../partials/form.ts';
import { signedInAsLine, switchAccountForm, type SignedInAs } from '../login/signed-in-as.ts';

export interface TotpChallengeOptions {
  action: string;
  csrf: string;
  rpName: string;
  digits: number;
  /** Plain-words lock text; when set, the form is not shown. */
  locked?: string;
  backupCodesLeft: number;
  error?: string;
  /** The administrator's text (messages.totpPrompt), already filled in, instead of the standard sentence. */
  prompt?: string;
  /** "Cancel and go back" to the application; also offered while locked, where it is the one way on. */
  cancel?: { action: string; rpName: string };
  /** Whose code is asked for, with the way to sign in as someone else; also while locked (whose codes are blocked). */
  signedIn: SignedInAs;
}

export function totpChallengePage(options: TotpChallengeOptions): SafeHtml {
  const backup = options.backupCodesLeft > 0 ? html`<p>No access to your app? Enter one of your backup codes instead (${options.backupCodesLeft} left).</p>` : '';
  // Locked, there is nothing to enter: the title says so, and the page says only why and until when.
  const title = options.locked ? 'Codes are blocked for now' : 'Enter your code';
  const prompt = options.prompt ? html`<p>${options.prompt}</p>` : html`<p><strong>${options.rpName}</strong> asks for a second step: the ${options.digits}-digit code from your authenticator app.</p>`;
  return layout({
    title,
    body: html`<h1>${title}</h1>
${signedInAsLine(options.signedIn)}
${options.locked ? '' : prompt}
${errorBox(options.locked ?? options.error)}
${options.locked
  ? ''
  : html`<form method="post" action="${options.action}">
${csrfField(options.csrf)}
${field({ name: 'code', label: 'Code', autocomplete: 'one-time-code', autofocus: true, invalid: !!options.error })}
<button type="submit">Verify</button>
</form>
${backup}`}
${switchAccountForm(options.signedIn, options.csrf)}
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { cancelForm, csrfField, errorBox, field, pageAlert } from '../partials/form.ts';
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

/**
 * Read with the code field: the focus starts there, past what the code is asked for, and the note on
 * backup codes comes after the button, where moving from control to control never reads it.
 */
const PROMPT_ID = 'code-prompt';
const BACKUP_NOTE_ID = 'backup-code-note';

export function totpChallengePage(options: TotpChallengeOptions): SafeHtml {
  const hasBackup = options.backupCodesLeft > 0;
  const backup = hasBackup ? html`<p id="${BACKUP_NOTE_ID}">No access to your app? Enter one of your backup codes instead (${options.backupCodesLeft} left).</p>` : '';
  // Locked, there is nothing to enter: the title says so, and the page says only why and until when.
  const title = options.locked ? 'Codes are blocked for now' : 'Enter your code';
  const prompt = options.prompt ? html`<p id="${PROMPT_ID}">${options.prompt}</p>` : html`<p id="${PROMPT_ID}"><strong>${options.rpName}</strong> asks for a second step: the ${options.digits}-digit code from your authenticator app.</p>`;
  return layout({
    title,
    body: html`<h1>${title}</h1>
${signedInAsLine(options.signedIn)}
${options.locked ? '' : prompt}
${options.locked ? pageAlert(options.locked, 'error') : errorBox(options.error)}
${options.locked
  ? ''
  : html`<form method="post" action="${options.action}">
${csrfField(options.csrf)}
${field({ name: 'code', label: 'Code', autocomplete: 'one-time-code', autofocus: true, invalid: !!options.error, describedBy: [PROMPT_ID, ...(hasBackup ? [BACKUP_NOTE_ID] : [])] })}
<button type="submit">Verify</button>
</form>
${backup}`}
${switchAccountForm(options.signedIn, options.csrf)}
${cancelForm(options.cancel && { ...options.cancel, csrf: options.csrf })}`,
  });
}

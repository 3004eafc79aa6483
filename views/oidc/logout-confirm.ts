import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';

/** RP-initiated logout: asks before signing out, so a link from another site cannot do it silently. */
export function oidcLogoutConfirmPage(options: { action: string; xsrf: string; clientName?: string; username?: string; hintForAnotherAccount: boolean }): SafeHtml {
  return layout({
    title: 'Sign out',
    body: html`<h1>Sign out</h1>
<p>${options.clientName ? html`<strong>${options.clientName}</strong> asks to sign you out.` : 'An application asks to sign you out.'} This signs you out of every application that uses this sign-in.</p>
${options.username ? html`<p>Signed in here as <strong>${options.username}</strong>.</p>` : ''}
${options.hintForAnotherAccount ? html`<p class="notice" role="status">The application asked to sign out a different account than the one signed in here. If you did not expect this, choose "Stay signed in".</p>` : ''}
<form method="post" action="${options.action}">
<input type="hidden" name="xsrf" value="${options.xsrf}">
<button type="submit" name="logout" value="yes">Sign out</button>
<button type="submit" class="secondary">Stay signed in</button>
</form>`,
  });
}

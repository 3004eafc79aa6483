import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';

/**
 * The HTTP-POST binding page: a form that carries the SAML message to the application. It works
 * without JavaScript (the visible Continue button); with JavaScript a nonce'd script submits it at once.
 */
export function samlPostPage(options: { action: string; fields: Record<string, string>; nonce: string; appName?: string }): SafeHtml {
  return layout({
    title: 'Continue',
    body: html`<h1>Continue</h1>
<p>${options.appName ? html`Taking you to <strong>${options.appName}</strong>.` : 'Taking you back to the application.'}</p>
<form id="saml-post" method="post" action="${options.action}">
${Object.entries(options.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">\n`)}
<button type="submit">Continue</button>
</form>
<script nonce="${options.nonce}">document.getElementById('saml-post').submit();</script>`,
  });
}

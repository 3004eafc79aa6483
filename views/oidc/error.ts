import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { pageAlert } from '../partials/form.ts';

/**
 * An OpenID Connect request that cannot be answered to the application (bad client, bad
 * redirect_uri, expired sign-in). The protocol error code is shown for the application's developer;
 * it is oidc-provider's fixed text, never an internal detail.
 */
export function oidcErrorPage(options: { title: string; message: string; error: string; description?: string; requestId?: string; helpdesk?: string }): SafeHtml {
  return layout({
    title: options.title,
    body: html`<h1>${options.title}</h1>
${pageAlert(options.message)}
${options.helpdesk ? html`<p class="helpdesk">${options.helpdesk}</p>` : ''}
<p class="reference">For the application's developer: <code>${options.error}</code>${options.description ? html` (${options.description})` : ''}</p>
${options.requestId ? html`<p class="reference">Reference: <code>${options.requestId}</code></p>` : ''}`,
  });
}

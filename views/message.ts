import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';
import { csrfField, pageAlert } from './partials/form.ts';
import type { WayBack } from '../src/http/way-back.ts';

export interface PageLink {
  href: string;
  label: string;
}

/** The page's next step as a form (it changes something, so a link would not do): `fields` are sent with the form's token. */
export interface PageAction {
  action: string;
  csrf: string;
  label: string;
  fields: Readonly<Record<string, string>>;
}

/**
 * Errors and refusals: a title, a plain-words message, never internals. `helpdesk`:
 * whom to contact (messages.helpdesk), on errors and refusals. `outcome`: the page only reports
 * what was done (nothing went wrong), so its message is a status, not an alert that a screen reader
 * breaks in with; a refusal's takes the focus (pageAlert).
 */
export function messagePage(options: { title: string; message: string; requestId?: string; action?: PageAction; link?: PageLink | readonly PageLink[]; wayBack?: WayBack; helpdesk?: string; outcome?: true }): SafeHtml {
  const links = options.link === undefined ? [] : 'href' in options.link ? [options.link] : options.link;
  return layout({
    title: options.title,
    body: html`<h1>${options.title}</h1>
${options.outcome ? html`<p role="status">${options.message}</p>` : pageAlert(options.message)}
${options.action ? html`<form method="post" action="${options.action.action}">
${csrfField(options.action.csrf)}
${Object.entries(options.action.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<button type="submit">${options.action.label}</button>
</form>` : ''}
${links.map((link) => html`<p><a href="${link.href}">${link.label}</a></p>`)}
${options.wayBack ? html`<form method="post" action="${options.wayBack.action}" class="cancel">
${csrfField(options.wayBack.csrf)}
<button type="submit">Back to ${options.wayBack.rpName}</button>
</form>` : ''}
${options.helpdesk ? html`<p class="helpdesk">${options.helpdesk}</p>` : ''}
${options.requestId ? html`<p class="reference">Reference: <code>${options.requestId}</code></p>` : ''}`,
  });
}

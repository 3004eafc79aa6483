import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';

/** The end of a sign-out that went through the applications: which confirmed it and which did not. */
export function signedOutPage(options: { sessionEnded: boolean; confirmed: string[]; unconfirmed: string[] }): SafeHtml {
  const headline = options.sessionEnded ? 'You are signed out. You can close this window.' : 'There was no sign-in here to end. You can close this window.';
  return layout({
    title: 'Signed out',
    body: html`<h1>Signed out</h1>
<p role="status">${headline}</p>
${options.confirmed.length ? html`<h2>Signed out of</h2>
<ul class="apps-confirmed">${options.confirmed.map((name) => html`<li>${name}</li>`)}</ul>` : ''}
${options.unconfirmed.length ? html`<h2>Not confirmed</h2>
<p>These applications did not confirm that you are signed out of them. Close the browser to be sure.</p>
<ul class="apps-unconfirmed">${options.unconfirmed.map((name) => html`<li>${name}</li>`)}</ul>` : ''}`,
  });
}

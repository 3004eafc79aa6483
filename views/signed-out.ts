import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';

/**
 * The end of every sign-out. One that went through the applications lists which confirmed it and
 * which did not; without lists, nothing is said about applications.
 */
export function signedOutPage(options: { sessionEnded: boolean; confirmed?: string[]; unconfirmed?: string[] }): SafeHtml {
  const { confirmed = [], unconfirmed = [] } = options;
  const headline = options.sessionEnded ? 'You are signed out. You can close this window.' : 'There was no sign-in here to end. You can close this window.';
  return layout({
    title: 'Signed out',
    body: html`<h1>Signed out</h1>
<p role="status">${headline}</p>
${confirmed.length ? html`<h2>Signed out of</h2>
<ul class="apps-confirmed">${confirmed.map((name) => html`<li>${name}</li>`)}</ul>` : ''}
${unconfirmed.length ? html`<h2>Not confirmed</h2>
<p>These applications did not confirm that you are signed out of them. Close the browser to be sure.</p>
<ul class="apps-unconfirmed">${unconfirmed.map((name) => html`<li>${name}</li>`)}</ul>` : ''}`,
  });
}

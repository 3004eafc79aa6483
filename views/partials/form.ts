import { html, type SafeHtml } from '../../src/http/html.ts';

/** The id of a form's error (errorBox), which the fields it is about point to. */
export const FORM_ERROR_ID = 'form-error';

export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** One problem as a sentence; several (every problem of a form sent once) as a list. */
export function errorBox(message: string | readonly string[] | undefined): SafeHtml {
  const messages = typeof message === 'string' ? [message] : (message ?? []);
  if (messages.length === 0) return html``;
  if (messages.length === 1) return html`<p class="error" role="alert" id="${FORM_ERROR_ID}">${messages[0]}</p>`;
  return html`<div class="error" role="alert" id="${FORM_ERROR_ID}"><ul>${messages.map((each) => html`<li>${each}</li>`)}</ul></div>`;
}

/**
 * Ends the sign-in without a user, and the application is told so (a SAML error status, OIDC
 * access_denied): without it, a user who cannot or will not sign in is stranded on Stepgate's page.
 */
export function cancelForm(cancel: { action: string; csrf: string; rpName: string } | undefined): SafeHtml {
  return cancel
    ? html`<form method="post" action="${cancel.action}" class="cancel">
${csrfField(cancel.csrf)}
<button type="submit" class="secondary">Cancel and go back to ${cancel.rpName}</button>
</form>`
    : html``;
}

/** The id of a page's refusal when the page has no field to read it with (pageAlert). */
export const PAGE_MESSAGE_ID = 'page-message';

/**
 * A refusal on a page with nothing to type: it takes the focus and reads as its own description, as a
 * field reads its form's error (see field()): an alert already on the page when it loads is not
 * announced by most screen readers.
 */
export function pageAlert(message: string, className?: string): SafeHtml {
  return html`<p${className ? html` class="${className}"` : ''} role="alert" id="${PAGE_MESSAGE_ID}" tabindex="-1" aria-describedby="${PAGE_MESSAGE_ID}" autofocus>${message}</p>`;
}

export function noticeBox(message: string | undefined): SafeHtml {
  return message ? html`<p class="notice" role="status">${message}</p>` : html``;
}

/**
 * `verbatim`: a name typed as is (no capital first letter, no spelling fixes from a phone keyboard).
 * `invalid`: the form's error (errorBox) is about this field: it is marked so, and read with it.
 * `hint`: what to type, shown under the label and read with the field (rules to meet on the first try).
 * `describedBy`: ids of other texts read with the field. The field that gets the focus after an error
 * about other fields points to the error too (FORM_ERROR_ID): an alert already on the page when it
 * loads is not announced by most screen readers, so the focused field is how the error is heard.
 */
export function field(options: { name: string; label: string; type?: string; value?: string; autocomplete?: string; autofocus?: boolean; inputmode?: string; verbatim?: boolean; invalid?: boolean; hint?: string; describedBy?: readonly string[] }): SafeHtml {
  const id = `field-${options.name}`;
  const hintId = `${id}-hint`;
  const describedBy = [...new Set([...(options.invalid ? [FORM_ERROR_ID] : []), ...(options.hint ? [hintId] : []), ...(options.describedBy ?? [])])];
  return html`<label for="${id}">${options.label}</label>
${options.hint ? html`<p class="hint field-hint" id="${hintId}">${options.hint}</p>\n` : ''}<input id="${id}" name="${options.name}" type="${options.type ?? 'text'}" value="${options.value ?? ''}" autocomplete="${options.autocomplete ?? 'off'}"${options.inputmode ? html` inputmode="${options.inputmode}"` : ''}${options.verbatim ? html` autocapitalize="none" spellcheck="false"` : ''}${options.invalid ? html` aria-invalid="true"` : ''}${describedBy.length ? html` aria-describedby="${describedBy.join(' ')}"` : ''} required${options.autofocus ? html` autofocus` : ''}>`;
}

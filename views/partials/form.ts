import { html, type SafeHtml } from '../../src/http/html.ts';

export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

export function errorBox(message: string | undefined): SafeHtml {
  return message ? html`<p class="error" role="alert" id="form-error">${message}</p>` : html``;
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

export function noticeBox(message: string | undefined): SafeHtml {
  return message ? html`<p class="notice" role="status">${message}</p>` : html``;
}

/**
 * `verbatim`: a name typed as is (no capital first letter, no spelling fixes from a phone keyboard).
 * `invalid`: the form's error (errorBox) is about this field, so assistive technology reads it with the field.
 */
export function field(options: { name: string; label: string; type?: string; value?: string; autocomplete?: string; autofocus?: boolean; inputmode?: string; verbatim?: boolean; invalid?: boolean }): SafeHtml {
  const id = `field-${options.name}`;
  return html`<label for="${id}">${options.label}</label>
<input id="${id}" name="${options.name}" type="${options.type ?? 'text'}" value="${options.value ?? ''}" autocomplete="${options.autocomplete ?? 'off'}"${options.inputmode ? html` inputmode="${options.inputmode}"` : ''}${options.verbatim ? html` autocapitalize="none" spellcheck="false"` : ''}${options.invalid ? html` aria-invalid="true" aria-describedby="form-error"` : ''} required${options.autofocus ? html` autofocus` : ''}>`;
}

import { html, type SafeHtml } from '../../src/http/html.ts';

export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

export function errorBox(message: string | undefined): SafeHtml {
  return message ? html`<p class="error" role="alert" id="form-error">${message}</p>` : html``;
}

export function noticeBox(message: string | undefined): SafeHtml {
  return message ? html`<p class="notice" role="status">${message}</p>` : html``;
}

export function field(options: { name: string; label: string; type?: string; value?: string; autocomplete?: string; autofocus?: boolean; inputmode?: string }): SafeHtml {
  const id = `field-${options.name}`;
  return html`<label for="${id}">${options.label}</label>
<input id="${id}" name="${options.name}" type="${options.type ?? 'text'}" value="${options.value ?? ''}" autocomplete="${options.autocomplete ?? 'off'}"${options.inputmode ? html` inputmode="${options.inputmode}"` : ''} required${options.autofocus ? html` autofocus` : ''}>`;
}

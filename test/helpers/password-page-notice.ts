import assert from 'node:assert/strict';
import type { Page } from './browser.ts';

/**
 * The password page of a sign-in that had to start again, with `notice` (the whole `<p role="alert">`)
 * saying why: the focus starts in the empty username field, which reads the notice (an alert present
 * on load is not announced), and nothing typed is marked wrong.
 */
export function assertPasswordPageNotice(page: Page, notice: RegExp): void {
  assert.equal(page.status, 200);
  assert.match(page.body, /<h1>Sign in<\/h1>/);
  assert.match(page.body, notice);
  assert.match(page.body, /<input id="field-username"[^>]* aria-describedby="form-error"[^>]* autofocus>/);
  assert.doesNotMatch(page.body, /<input id="field-password"[^>]* aria-invalid/);
}

import assert from 'node:assert/strict';
import { TEST_FINISHER, type Booted } from './boot.ts';
import { TestBrowser, type Page } from './browser.ts';
import { request as loginRequest } from './login-request.ts';

/** Signs in with the password to an application that requires MFA, driving the interaction directly; returns the transaction and the page after the password. */
export async function signInToMfaApp(app: Booted, browser: TestBrowser, credentials: { username: string; password: string }): Promise<{ txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: 'mfa-app', rpName: 'MFA App', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  const login = await browser.get(`${app.url}/login/${tx.id}`);
  return { txId: tx.id, page: await browser.submit(login, credentials) };
}

/** A fresh browser signs in to an application that requires MFA; returns the transaction and the code page. */
export async function toCodePage(app: Booted, credentials: { username: string; password: string }): Promise<{ browser: TestBrowser; txId: string; page: Page }> {
  const browser = new TestBrowser();
  const { txId, page } = await signInToMfaApp(app, browser, credentials);
  assert.match(page.body, /Enter your code/);
  return { browser, txId, page };
}

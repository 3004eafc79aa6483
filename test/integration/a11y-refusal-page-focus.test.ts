import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request } from '../helpers/login-request.ts';
import { createUser, createUserWithTotp } from '../helpers/oidc-rp.ts';
import { focusedDescription, launchChromium, watchedPage } from '../helpers/chromium.ts';

/**
 * A refusal page has no field to read its message with, as the form pages do (the focused field is
 * described by the error): the message itself takes the focus and reads as its description, since an
 * alert already on the page when it loads is not announced by most screen readers.
 */
const PASSWORD = 'correct horse 42';

describe('the message of a refusal page takes the focus, in real headless Chromium', () => {
  let app: Booted;
  let browser: Browser;

  before(async () => {
    app = await boot();
    await createUser(app, { username: 'olive', password: PASSWORD });
    await createUserWithTotp(app, { username: 'lena', password: PASSWORD }, Date.now());
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  async function signIn(page: Page, username: string, policy: string): Promise<void> {
    const tx = await app.services.interaction.deps.transactions.create(request({ rpName: 'Payroll', rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
    await page.goto(`${app.url}/login/${tx.id}`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  test('"Access denied": the focus is on the message, which is read', { timeout: 30_000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    await signIn(page, 'olive', 'deny-everyone');
    await page.getByRole('heading', { name: 'Access denied' }).waitFor();
    const { id, description } = await focusedDescription(page);
    assert.equal(id, 'page-message');
    assert.match(description, /^You are not allowed to use Payroll\. If you need it, ask your helpdesk for access\.$/);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Back to Payroll', 'Tab goes on to the way back');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('an unknown page and codes blocked: the same', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { page } = await watchedPage(context);
    await page.goto(`${app.url}/no-such-page`);
    const notFound = await focusedDescription(page);
    assert.equal(notFound.id, 'page-message');
    assert.match(notFound.description, /^There is no page at this address\./);

    await signIn(page, 'lena', 'permit-everyone-require-mfa');
    for (let i = 0; i < 5; i++) {
      await page.getByLabel('Code', { exact: true }).fill('000000');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('alert').waitFor();
    }
    await page.getByRole('heading', { name: 'Codes are blocked for now' }).waitFor();
    const locked = await focusedDescription(page);
    assert.equal(locked.id, 'page-message');
    assert.match(locked.description, /^Too many wrong codes were entered, so sign-in codes are blocked for your account/);
    await context.close();
  });
});

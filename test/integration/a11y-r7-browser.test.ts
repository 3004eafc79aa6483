import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import { focusedDescription, launchChromium, watchedPage } from '../helpers/chromium.ts';
import { mintBootstrapSecretIfNeeded } from '../../src/admin/bootstrap.ts';

const PASSWORD = 'Browser-pass-2026';

describe('a11y round 7 in real headless Chromium', () => {
  let app: Booted;
  let browser: Browser;

  before(async () => {
    app = await boot({ directory: { kind: 'local' } });
    await addLocalUser(app.services, 'carla', PASSWORD);
    await mintBootstrapSecretIfNeeded(app.services.store, Date.now());
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  async function signInPage(page: Page, policy: string): Promise<void> {
    const tx = await app.services.interaction.deps.transactions.create(request({ rpName: 'Expenses', rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
    await page.goto(`${app.url}/login/${tx.id}`);
  }

  test('the setup key: one click selects all of it, at body size or larger, and the QR code stays', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 320, height: 640 } });
    const { page, problems } = await watchedPage(context);
    await signInPage(page, 'permit-everyone-require-mfa');
    await page.getByLabel('Username').fill('carla');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();

    const key = page.locator('#totp-secret');
    await key.click();
    assert.equal(await page.evaluate(() => window.getSelection()?.toString()), await key.innerText(), 'a single click selects the whole key, nothing around it');
    const fontSize = await key.evaluate((element) => parseFloat(getComputedStyle(element).fontSize));
    assert.ok(fontSize >= 16, `the key is drawn at ${fontSize}px`);
    const box = await key.boundingBox();
    assert.ok(box && box.x + box.width <= 320, 'it wraps within a phone-sized screen');
    assert.match((await page.getByRole('link', { name: 'Open in an authenticator app on this device' }).getAttribute('href')) ?? '', /^otpauth:\/\/totp\//);
    assert.equal(await page.getByRole('img', { name: /QR code/ }).count(), 1);
    assert.deepEqual(problems, [], 'no CSP violation');
    await context.close();
  });

  test('bootstrap refused: the focused field reads every problem', { timeout: 30_000 }, async () => {
    const context = await browser.newContext();
    const { page } = await watchedPage(context);
    await page.goto(`${app.url}/admin/bootstrap`);
    assert.match((await focusedDescription(page)).id, /^field-secret$/);
    await page.getByLabel('Bootstrap secret').fill('guess');
    await page.getByLabel('Administrator username').fill('first-admin');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Password again').fill('other');
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.getByRole('alert').waitFor();
    const { id, description } = await focusedDescription(page);
    assert.equal(id, 'field-secret');
    assert.match(description, /The password was refused\. It must be at least 14 characters long\. It must contain a digit\./);
    assert.match(description, /The two passwords are not the same\./);
    assert.match(await page.getByLabel('Password', { exact: true }).getAttribute('aria-describedby') ?? '', /form-error/);
    await context.close();
  });

  test('in forced colours the primary button and the error box keep an edge', { timeout: 30_000 }, async () => {
    const context = await browser.newContext();
    const { page } = await watchedPage(context);
    await page.emulateMedia({ forcedColors: 'active' });
    await signInPage(page, 'permit-everyone');
    await page.getByLabel('Username').fill('carla');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    const edge = (selector: string) => page.locator(selector).first().evaluate((element) => {
      const style = getComputedStyle(element);
      return `${style.borderTopStyle} ${style.borderTopWidth} ${style.borderTopColor === 'rgba(0, 0, 0, 0)' ? 'transparent' : 'drawn'}`;
    });
    assert.equal(await edge('button[type=submit]'), 'solid 1px drawn');
    assert.equal(await edge('.error'), 'solid 1px drawn');
    await context.close();
  });
});

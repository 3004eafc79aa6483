import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { boot, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp } from '../helpers/saml-sp.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';

const PASSWORD = 'Next-steps-pass-2026';
const SECRET = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';

/** Pages that end a step or a mistake say what happened and where to go next. */
describe('next steps on end-user pages, in real headless Chromium', () => {
  let app: Booted;
  let browser: Browser;
  let sp: TestSp;
  let strictSp: TestSp;
  let userId: string;

  before(async () => {
    app = await boot();
    userId = await addLocalUser(app.services, 'bruno', PASSWORD);
    await app.services.mfa.enrollments.put(userId, 'bruno', SECRET, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, Date.now());
    sp = await TestSp.create(app, { name: 'next-wiki', register: { name: 'Wiki', policy: 'permit-everyone-require-mfa' } });
    strictSp = await TestSp.create(app, { name: 'next-strict', register: { name: 'Strict App', allowPasswordChange: false } });
    await addLocalUser(app.services, 'mira', PASSWORD, { mustChangePassword: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  test('a sign-in with a backup code says it is used up, how many are left and where to make new ones, then goes on to the application', { timeout: 60_000 }, async () => {
    const codes = await app.services.mfa.backupCodes.regenerate(userId, 2, Date.now());
    for (const [index, code] of codes.entries()) {
      const context = await browser.newContext({ viewport: { width: 320, height: 640 } });
      const { page, problems } = await watchedPage(context);
      let posted = 0;
      await page.route('https://next-wiki.sp.test/**', (route) => {
        posted += 1;
        return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>the wiki</p>' });
      });
      await page.goto((await sp.authnRequest('', { disableRequestedAuthnContext: true })).url);
      await page.getByLabel('Username').fill('bruno');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByLabel('Code', { exact: true }).fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();

      await page.getByRole('heading', { name: 'Backup code used' }).waitFor();
      const status = await page.getByRole('status').innerText();
      assert.match(status, /You signed in with a backup code, so it no longer works\./);
      assert.match(status, index === 0 ? /You have 1 backup code left\./ : /That was your last backup code: you have none left\./);
      assert.equal(await page.getByRole('link', { name: 'My security settings' }).getAttribute('href'), '/account/security');
      assert.equal(posted, 0, 'nothing sent to the application before the user continues');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 320, `fits a 320 px screen: ${width}`);

      await page.getByRole('button', { name: 'Continue to Wiki' }).click();
      await page.waitForURL('https://next-wiki.sp.test/**');
      assert.equal(posted, 1);
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  test('the page for an address that does not exist says what to do next', { timeout: 30_000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const answer = await page.goto(`${app.url}/login-typo`);
    assert.equal(answer?.status(), 404);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    assert.match(await page.locator('main').innerText(), /There is no page at this address\. Check it for typing mistakes; if a link brought you here, go back to the application you were using and start again from there\./);
    await context.close();
  });

  test('a password to change that the application does not take: the page goes on to "My security"\'s change form, then says to sign in to the application again', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 320, height: 640 } });
    const { page, problems } = await watchedPage(context);
    await page.goto((await strictSp.authnRequest('', { disableRequestedAuthnContext: true })).url);
    await page.getByLabel('Username').fill('mira');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Password change needed' }).waitFor();
    await page.getByRole('button', { name: 'Change your password on My security' }).click();
    // The password this sign-in proved is not asked again: the change form comes at once.
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill('Next-steps-pass-2027');
    await page.getByLabel('New password again').fill('Next-steps-pass-2027');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(`${app.url}/account/security/password-changed`);
    assert.match(await page.getByRole('status').innerText(), /Your password has been changed\. Go back to Strict App and sign in again with your new password\./);
    await page.getByRole('button', { name: 'Back to Strict App' }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });
});

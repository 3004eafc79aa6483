import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { boot, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp } from '../helpers/saml-sp.ts';
import { authRequest, createRp, type TestRp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';

const PASSWORD = 'Back-after-pass-2026';
const SECRET = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';
const RP_ORIGIN = 'https://back-rp.example';

/**
 * The browser's Back after a finished sign-in leads to the sign-in's last page again. Its answer went
 * to the application once: the page says the sign-in is done (and who is signed in), never "expired",
 * and nothing is sent to the application again.
 */
describe('Back after signing in, in real headless Chromium', () => {
  let app: Booted;
  let browser: Browser;
  let sp: TestSp;
  let rp: TestRp;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'bella', PASSWORD, { name: 'Bella Back' });
    const mfaUser = await addLocalUser(app.services, 'otto', PASSWORD);
    await app.services.mfa.enrollments.put(mfaUser, 'otto', SECRET, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, Date.now());
    sp = await TestSp.create(app, { name: 'back-wiki', noSlo: true, register: { name: 'Wiki' } });
    rp = { ...(await createRp(app, { name: 'Payroll', policy: 'permit-everyone-require-mfa', redirectUris: [`${RP_ORIGIN}/cb`] })), redirectUri: `${RP_ORIGIN}/cb` };
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  async function signInToWiki(page: Page): Promise<string[]> {
    const posted: string[] = [];
    await page.route('https://back-wiki.sp.test/**', (route) => {
      posted.push(route.request().postData() ?? '');
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>the wiki</p>' });
    });
    await page.goto((await sp.authnRequest()).url);
    await page.getByLabel('Username').fill('bella');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('https://back-wiki.sp.test/**');
    return posted;
  }

  test('SAML: Back from the application says "You are signed in" with the user and the application, offers a way on, and posts nothing again', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    const posted = await signInToWiki(page);
    assert.equal(posted.length, 1);

    const back = await page.goBack();
    assert.equal(back?.status(), 200);
    await page.getByRole('heading', { name: 'You are signed in' }).waitFor();
    const status = await page.getByRole('status').innerText();
    assert.match(status, /Your sign-in to Wiki is complete/);
    assert.match(status, /Bella Back \(bella\)/);
    assert.equal(await page.getByText(/expired/i).count(), 0, 'not called expired');
    assert.equal(await page.getByRole('link', { name: 'Sign out' }).getAttribute('href'), '/logout');
    assert.equal(await page.getByRole('link', { name: 'My security settings' }).getAttribute('href'), '/account/security');
    await page.reload();
    await page.getByRole('heading', { name: 'You are signed in' }).waitFor();
    assert.equal(posted.length, 1, 'the response is never posted again');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('OIDC with a code: Back from the callback says the sign-in is complete and sends no code again', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    const callbacks: string[] = [];
    await page.route(`${RP_ORIGIN}/**`, (route) => {
      callbacks.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>payroll</p>' });
    });
    await page.goto((await authRequest(rp)).url.toString());
    await page.getByLabel('Username').fill('otto');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Code', { exact: true }).fill(oathtoolTotp(SECRET, Date.now()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${RP_ORIGIN}/**`);

    const back = await page.goBack();
    assert.equal(back?.status(), 200);
    assert.match(new URL(page.url()).pathname, /^\/login\/[^/]+$/, 'Back led to the code page of the sign-in');
    await page.getByRole('heading', { name: 'You are signed in' }).waitFor();
    assert.match(await page.getByRole('status').innerText(), /Your sign-in to Payroll is complete: you are signed in as Otto Example \(otto\)\./);
    assert.equal(callbacks.length, 1, 'no second code');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('signed out since, Back says only that the sign-in ended, names nobody, and another browser with the address learns nothing', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { page } = await watchedPage(context);
    const posted = await signInToWiki(page);
    await page.goBack();
    const signInPage = page.url();
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: /Sign out/ }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();

    await page.goto(signInPage);
    await page.getByRole('heading', { name: 'Sign-in finished' }).waitFor();
    assert.match(await page.getByRole('status').innerText(), /This sign-in to Wiki has already ended\. To sign in to Wiki, go back to Wiki and start again/);
    assert.equal(await page.getByText(/bella/i).count(), 0);
    assert.equal(posted.length, 1);

    const other = await browser.newContext();
    const stranger = await other.newPage();
    const answer = await stranger.goto(signInPage);
    assert.equal(answer?.status(), 400);
    assert.equal(await stranger.getByRole('heading', { name: 'Sign-in expired' }).count(), 1, 'the generic page: nothing about the sign-in or its application');
    assert.equal(await stranger.getByText(/Wiki/).count(), 0);
    await other.close();
    await context.close();
  });
});

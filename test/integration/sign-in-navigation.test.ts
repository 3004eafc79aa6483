import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page as ChromiumPage, Route } from 'playwright-core';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { startSignIn } from '../helpers/login-request.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm } from '../helpers/saml-sp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';
import type { LoginRequest } from '../../src/core/types.ts';

/**
 * What Reload, Back, a second tab and a second click do to a sign-in: the browser's history holds
 * GETs of /login/<tx> (Post/Redirect/Get), never a form or a SAML request that cannot be sent twice.
 */

const PASSWORD = 'Navigation-pass-2026';
const TOTP_PARAMETERS = { digits: 6, periodSeconds: 30, algorithm: 'sha1' } as const;

const isCodePage = (page: Page) => page.status === 200 && /Enter your code/.test(page.body) && /name="code"/.test(page.body);
const isBackupCodesPage = (page: Page) => page.status === 200 && /Your backup codes/.test(page.body);
const backupCodesOf = (page: Page) => [...page.body.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((match) => match[1]!);

function shownSecret(page: Page): string {
  const match = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body);
  assert.ok(match, `expected the TOTP setup page, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  return match[1]!.replace(/ /g, '');
}

function mfaRequest(rpName: string): LoginRequest {
  return { protocol: 'oidc', rpId: `app-${rpName}`, rpName, rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false };
}

describe('reload, Back, other tabs and second clicks during a sign-in', () => {
  let app: Booted;
  let chromium: Browser;
  let now = Date.now();
  const clock = { now: () => now };
  /** Codes are single use: each new code needs a new time step. */
  const nextTimeStep = () => void (now += 30_000);

  before(async () => {
    app = await boot({}, { clock });
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await app?.close();
  });

  async function enrolledUser(username: string, secret: string): Promise<string> {
    const userId = await createUser(app, { username, password: PASSWORD });
    await app.services.mfa.enrollments.put(userId, username, secret, TOTP_PARAMETERS, now);
    return userId;
  }

  /** Opens a sign-in for an application that requires MFA; `page` is its first page. */
  async function openSignIn(browser: TestBrowser, rpName: string): Promise<{ txId: string; page: Page }> {
    return startSignIn(app, browser, mfaRequest(rpName));
  }

  /** Opens a sign-in for an application that requires MFA and submits the password; `page` is where that leads. */
  async function signIn(browser: TestBrowser, username: string): Promise<{ txId: string; page: Page }> {
    const { txId, page } = await openSignIn(browser, 'Navigation App');
    return { txId, page: await browser.submit(page, { username, password: PASSWORD }) };
  }

  async function signInWithChromium(page: ChromiumPage, username: string): Promise<void> {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  test('SAML Redirect binding in Chromium: reloading the password page or the code page, and going Back (even to the application page and its link again) lead to a working sign-in page, not "Request not valid"', { timeout: 60_000 }, async () => {
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    await enrolledUser('nav-saml', secret);
    const sp = await TestSp.create(app, { name: 'nav-sp', register: { policy: 'permit-everyone-require-mfa' } });
    const context = await chromium.newContext();
    const { page, problems } = await watchedPage(context);
    let posted: URLSearchParams | undefined;
    const { url: ssoUrl } = await sp.authnRequest('relay-nav', { disableRequestedAuthnContext: true });
    // The application's own page, which sends the browser to the IdP with its AuthnRequest.
    await page.route('https://nav-sp.sp.test/**', (route: Route) => {
      if (route.request().method() === 'POST') {
        posted = new URLSearchParams(route.request().postData() ?? '');
        return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>received</p>' });
      }
      return route.fulfill({ status: 200, contentType: 'text/html', body: `<a id="sign-in" href="${ssoUrl.replace(/&/g, '&amp;')}">Sign in</a>` });
    });
    await page.goto('https://nav-sp.sp.test/home');
    await page.click('#sign-in');
    await page.getByLabel('Password').waitFor();
    assert.match(new URL(page.url()).pathname, /^\/login\/[^/]+$/, 'the history holds the sign-in page, not the SAML request');

    await page.reload();
    await page.getByLabel('Password').waitFor();
    await signInWithChromium(page, 'nav-saml');
    await page.getByRole('heading', { name: /Enter your code/ }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: /Enter your code/ }).waitFor();

    await page.goBack();
    assert.match(new URL(page.url()).pathname, /^\/login\/[^/]+$/);
    await page.getByRole('heading', { name: /Enter your code/ }).waitFor();
    const signInPage = page.url();
    // Back once more, to the application's page: its link sends the same AuthnRequest again, from this browser.
    await page.goBack();
    assert.equal(page.url(), 'https://nav-sp.sp.test/home');
    await page.click('#sign-in');
    await page.getByRole('heading', { name: /Enter your code/ }).waitFor();
    assert.equal(page.url(), signInPage, 'back at the same sign-in');
    assert.doesNotMatch(await page.content(), /Request not valid|Sign-in expired/);

    // The first code of this user; the clock stays with the test SP's, which dates what it accepts.
    await page.getByLabel('Code').fill(oathtoolTotp(secret, now));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL('https://nav-sp.sp.test/acs');
    assert.ok(posted, 'the browser posted the SAMLResponse');
    assert.equal(posted.get('RelayState'), 'relay-nav');
    assert.ok((await sp.validate(posted.get('SAMLResponse')!)).profile?.nameID);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('an AuthnRequest sent again goes back to its open sign-in only in its own browser; another browser and a finished sign-in are refused as a replay', async () => {
    await createUser(app, { username: 'nav-replay', password: PASSWORD });
    const sp = await TestSp.create(app, { name: 'nav-replay-sp' });
    const { url } = await sp.authnRequest('relay-replay');
    const owner = new TestBrowser();
    const first = await owner.get(url);
    assert.ok(isPasswordPage(first));
    const again = await owner.get(url);
    assert.ok(isPasswordPage(again), `the same browser is back at its sign-in, got ${again.status}\n${again.body.slice(0, 300)}`);
    assert.equal(again.url, first.url);

    const other = await new TestBrowser().get(url);
    assert.equal(other.status, 400);
    assert.match(other.body, /Request not valid/);

    const postPage = await owner.submit(again, { username: 'nav-replay', password: PASSWORD });
    assert.equal(samlPostForm(postPage).fields.RelayState, 'relay-replay');
    const afterCompletion = await owner.get(url);
    assert.equal(afterCompletion.status, 400, 'a finished sign-in answers no replay');
    assert.match(afterCompletion.body, /Request not valid/);
  });

  test('a POST-binding AuthnRequest sent again cross-site (without this site cookies) goes back to its open sign-in through a same-site step, only in its own browser', async () => {
    const sp = await TestSp.create(app, { name: 'nav-replay-post', binding: 'post' });
    const request = await sp.authnRequest('relay-post');
    assert.ok(request.fields, 'a POST-binding request');
    const owner = new TestBrowser();
    const first = await owner.request(request.url, { method: 'POST', body: new URLSearchParams(request.fields) });
    assert.ok(isPasswordPage(first), `got ${first.status} ${first.url}`);
    // A browser sends no SameSite=Lax cookie with a cross-site POST: the resend arrives without any.
    const resent = await fetch(request.url, { method: 'POST', body: new URLSearchParams(request.fields), redirect: 'manual' });
    assert.equal(resent.status, 303, await resent.text());
    const onward = new URL(resent.headers.get('location')!, app.url).toString();
    const back = await owner.get(onward);
    assert.ok(isPasswordPage(back), `the owner is back at its sign-in, got ${back.status} ${back.url}`);
    assert.equal(back.url, first.url);
    const stranger = await new TestBrowser().get(onward);
    assert.equal(stranger.status, 400);
    assert.match(stranger.body, /Request not valid/);
  });

  test('reloading the setup page in Chromium after the password keeps the same secret, and that secret sets up the app', { timeout: 60_000 }, async () => {
    const userId = await createUser(app, { username: 'nav-enroll', password: PASSWORD });
    const tx = await app.services.interaction.deps.transactions.create(mfaRequest('Enroll App'));
    const context = await chromium.newContext();
    const { page, problems } = await watchedPage(context);
    await page.goto(`${app.url}/login/${tx.id}`);
    await signInWithChromium(page, 'nav-enroll');
    const secretShown = async () => (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
    const secret = await secretShown();
    await page.reload();
    assert.equal(await secretShown(), secret, 'a reload shows the secret already scanned');

    await page.getByLabel('Code from the app').fill(oathtoolTotp(secret, now));
    await page.getByRole('button', { name: 'Confirm and activate' }).click();
    await page.getByRole('heading', { name: /Your backup codes/ }).waitFor();
    const user = (await app.services.directory.findUserById(userId))!;
    assert.equal(await app.services.mfa.totp.isEnrolled(user), true);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a code sent after the password was typed again in another tab leads to the current step, not "Sign-in expired"', async () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await enrolledUser('nav-tabs', secret);
    const browser = new TestBrowser();
    // Two tabs of one browser, each at the password page of its own sign-in.
    const firstTab = await openSignIn(browser, 'Navigation App');
    const secondTab = await openSignIn(browser, 'Other App');
    const codePage = await browser.submit(firstTab.page, { username: 'nav-tabs', password: PASSWORD });
    assert.ok(isCodePage(codePage));
    // The password typed in the second tab starts another SSO session in this browser.
    const secondTabCode = await browser.submit(secondTab.page, { username: 'nav-tabs', password: PASSWORD });
    assert.ok(isCodePage(secondTabCode));

    nextTimeStep();
    const stale = await browser.submit(codePage, { code: oathtoolTotp(secret, now) });
    assert.ok(isCodePage(stale), `the code page of the current session, got ${stale.status}\n${stale.body.slice(0, 300)}`);
    assert.equal(new URL(stale.url).pathname, `/login/${firstTab.txId}`);
    assert.equal(app.finished.get(firstTab.txId), undefined, 'the code sent for the session that ended was not taken');

    // The second tab finishes its second step: the first sign-in then completes without asking again.
    nextTimeStep();
    const secondDone = await browser.submit(secondTabCode, { code: oathtoolTotp(secret, now) });
    assert.match(secondDone.url, /\/resume\?tx=/);
    nextTimeStep();
    const completed = await browser.submit(stale, { code: oathtoolTotp(secret, now) });
    assert.match(completed.url, new RegExp(`/resume\\?tx=${firstTab.txId}$`), `completed, got ${completed.status}\n${completed.body.slice(0, 300)}`);
    const result = app.finished.get(firstTab.txId);
    assert.ok(result?.ok && result.amr.includes('mfa'));
  });

  test('a code sent after signing out in another tab leads to the password page', async () => {
    const secret = 'MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK';
    await enrolledUser('nav-logout', secret);
    const browser = new TestBrowser();
    const { txId, page: codePage } = await signIn(browser, 'nav-logout');
    await browser.submit(await browser.get(`${app.url}/logout`));
    nextTimeStep();
    const afterLogout = await browser.submit(codePage, { code: oathtoolTotp(secret, now) });
    assert.ok(isPasswordPage(afterLogout), `the password page, got ${afterLogout.status}\n${afterLogout.body.slice(0, 300)}`);
    assert.equal(app.finished.get(txId), undefined);
  });

  test('a setup confirmation sent twice leaves a working setup and shows the backup codes, never a new secret', async () => {
    const userId = await createUser(app, { username: 'nav-double', password: PASSWORD });
    const browser = new TestBrowser();
    const { txId, page: setupPage } = await signIn(browser, 'nav-double');
    const secret = shownSecret(setupPage);
    const code = oathtoolTotp(secret, now);
    const answers = await Promise.all([browser.submit(setupPage, { code }), browser.submit(setupPage, { code })]);
    for (const answer of answers) {
      assert.ok(isBackupCodesPage(answer), `the backup codes, got ${answer.status}\n${answer.body.slice(0, 400)}`);
      assert.doesNotMatch(answer.body, /totp-secret/);
    }
    const codes = backupCodesOf(answers[0]!);
    assert.equal(codes.length, 10);
    assert.deepEqual(backupCodesOf(answers[1]!), codes, 'both answers show the codes that were issued');
    const retried = await browser.submit(setupPage, { code });
    assert.deepEqual(backupCodesOf(retried), codes, 'a retry after the first answer shows them too');
    assert.deepEqual(backupCodesOf(await browser.get(`${app.url}/login/${txId}`)), codes, 'and a reload');

    const done = await browser.submit(answers[1]!);
    assert.match(done.url, new RegExp(`/resume\\?tx=${txId}$`));
    assert.ok(app.finished.get(txId)?.ok);
    assert.doesNotMatch((await browser.get(`${app.url}/login/${txId}`)).body, /Your backup codes/, 'gone once the user continued');

    const user = (await app.services.directory.findUserById(userId))!;
    assert.equal(await app.services.mfa.totp.isEnrolled(user), true);
    const laterBrowser = new TestBrowser();
    const { txId: laterTx, page: codePage } = await signIn(laterBrowser, 'nav-double');
    assert.ok(isCodePage(codePage), 'the next sign-in asks for a code');
    nextTimeStep();
    await laterBrowser.submit(codePage, { code: oathtoolTotp(secret, now) });
    assert.ok(app.finished.get(laterTx)?.ok, 'a code from the secret that was set up signs in');
  });

  test('backup codes are not shown to another user who signs in on the same browser', async () => {
    await createUser(app, { username: 'nav-first', password: PASSWORD });
    const secondSecret = 'KRUGS4ZANFZSAYJAORSXG5BAMNXWIZJA';
    await enrolledUser('nav-second', secondSecret);
    const browser = new TestBrowser();
    const { txId, page: setupPage } = await signIn(browser, 'nav-first');
    assert.ok(isBackupCodesPage(await browser.submit(setupPage, { code: oathtoolTotp(shownSecret(setupPage), now) })));
    await browser.submit(await browser.get(`${app.url}/logout`));
    const passwordPage = await browser.get(`${app.url}/login/${txId}`);
    const next = await browser.submit(passwordPage, { username: 'nav-second', password: PASSWORD });
    assert.ok(isCodePage(next), `the second user is asked for a code, got ${next.status}\n${next.body.slice(0, 300)}`);
    assert.doesNotMatch(next.body, /Your backup codes/);
  });
});

test('backup codes of a setup are not shown again after a sign-out, to someone who has only the password', async () => {
  const app = await boot();
  try {
    await createUser(app, { username: 'nav-victim', password: PASSWORD });
    const browser = new TestBrowser();
    const tx = await app.services.interaction.deps.transactions.create(mfaRequest('Payroll'));
    const setup = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'nav-victim', password: PASSWORD });
    assert.ok(isBackupCodesPage(await browser.submit(setup, { code: oathtoolTotp(shownSecret(setup), Date.now()) })));
    await browser.submit(await browser.get(`${app.url}/logout`));
    const again = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'nav-victim', password: PASSWORD });
    assert.doesNotMatch(again.body, /Your backup codes/, 'the password alone does not show them');
    assert.ok(isCodePage(again), `the code is asked for, got ${again.status}\n${again.body.slice(0, 300)}`);
  } finally {
    await app.close();
  }
});

describe('an expired sign-in', () => {
  let app: Booted;
  // The SAML request is dated by the test SP with the real time.
  let now = Date.now();
  const clock = { now: () => now };

  before(async () => {
    app = await boot({}, { clock });
  });
  after(() => app?.close());

  test('its own browser is told which application to go back to; another browser and an unknown id get the generic message', async () => {
    const sp = await TestSp.create(app, { name: 'Payroll' });
    const browser = new TestBrowser();
    const passwordPage = await browser.get((await sp.authnRequest('relay-expired')).url);
    assert.ok(isPasswordPage(passwordPage));
    now += 16 * 60_000;

    const expired = await browser.submit(passwordPage, { username: 'someone', password: PASSWORD });
    assert.equal(expired.status, 400);
    assert.match(expired.body, /Sign-in expired/);
    assert.match(expired.body, /Your sign-in to Payroll was not finished in time, so it has expired\. Go back to Payroll and sign in again\./);
    assert.match((await browser.get(passwordPage.url)).body, /Go back to Payroll and sign in again/, 'the page of the sign-in says the same');

    for (const [who, page] of [['another browser', await new TestBrowser().get(passwordPage.url)], ['an unknown id', await browser.get(`${app.url}/login/forged-transaction-id`)]] as const) {
      assert.equal(page.status, 400, who);
      assert.match(page.body, /This sign-in has expired or is not valid any more\. Go back to the application and start again\./, who);
      assert.doesNotMatch(page.body, /Payroll/, who);
    }
  });
});

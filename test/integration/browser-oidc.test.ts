import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { boot, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { authRequest, createRp, redeem, type TestRp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';
import { ACR } from '../../src/policy/levels.ts';

const PASSWORD = 'Browser-oidc-pass-2026';
/** A 160-bit Base32 TOTP secret, registered directly in the store (as `mfa import` does), so the browser sees only the code step. */
const SECRET = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';
/** The relying party's callback: https on a host that does not exist; the browser's request to it is intercepted. */
const RP_ORIGIN = 'https://chromium-rp.example';
const REDIRECT_URI = `${RP_ORIGIN}/cb`;

describe('OIDC sign-in in real headless Chromium', () => {
  let app: Booted;
  let browser: Browser;
  let rp: TestRp;
  let userId: string;

  before(async () => {
    app = await boot();
    userId = await addLocalUser(app.services, 'olivia', PASSWORD);
    await app.services.mfa.enrollments.put(userId, 'olivia', SECRET, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, Date.now());
    const registered = await createRp(app, { policy: 'permit-everyone-require-mfa', redirectUris: [REDIRECT_URI] });
    rp = { ...registered, redirectUri: REDIRECT_URI };
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  test('authorization request → password page → code page → callback with a code that redeems to an MFA ID Token, under the CSP', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    /** Every main-frame document response, as "METHOD path → status [location path]" (Stepgate paths relative to its origin). */
    const hops: string[] = [];
    const where = (url: URL) => (url.origin === app.url ? url.pathname : `${url.origin}${url.pathname}`);
    page.on('response', (response) => {
      const sent = response.request();
      if (sent.resourceType() !== 'document' || response.frame() !== page.mainFrame()) return;
      const location = response.headers()['location'];
      hops.push(`${sent.method()} ${where(new URL(response.url()))} → ${response.status()}${location ? ` ${where(new URL(location, response.url()))}` : ''}`);
    });
    let callback: URL | undefined;
    await page.route(`${RP_ORIGIN}/**`, (route) => {
      callback = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>received</p>' });
    });

    const request = await authRequest(rp);
    assert.equal(request.url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(request.url.searchParams.get('redirect_uri'), REDIRECT_URI);
    const first = await page.goto(request.url.toString());
    assert.equal(first?.status(), 200, 'the authorization request answers 200 itself');
    assert.equal(new URL(page.url()).pathname, '/oidc/auth', 'the password page is shown at the authorization URL, no redirect');

    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username').fill('olivia');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
    assert.match(new URL(page.url()).pathname, /^\/login\/[^/]+$/, 'the code page is shown at the sign-in address the password POST redirected to (Reload never sends the password again)');
    await page.getByLabel('Code', { exact: true }).fill(oathtoolTotp(SECRET, Date.now()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${RP_ORIGIN}/**`);

    assert.ok(callback, 'the browser arrived at the relying party callback');
    const tx = /^POST \/login\/([^/]+)\/password → 303 /.exec(hops[1] ?? '')?.[1];
    assert.ok(tx, `the password POST answered with a redirect to the code page: ${hops.join(' | ')}`);
    assert.deepEqual(hops, [
      'GET /oidc/auth → 200',
      `POST /login/${tx}/password → 303 /login/${tx}`,
      `GET /login/${tx} → 200`,
      `POST /login/${tx}/mfa/totp → 303 ${REDIRECT_URI}`,
      `GET ${REDIRECT_URI} → 200`,
    ]);
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
    assert.equal(callback.searchParams.get('error'), null, `no error in the callback: ${callback}`);
    assert.equal(callback.searchParams.get('state'), request.state);
    assert.ok(callback.searchParams.get('code'), `the callback carries a code: ${callback}`);
    assert.equal(callback.searchParams.get('iss'), app.url);

    const claims = (await redeem(rp, request, callback)).claims()!;
    assert.equal(claims.sub, userId);
    assert.equal(claims.acr, ACR.mfa);
    assert.ok(Array.isArray(claims.amr) && claims.amr.includes('otp'), `amr includes otp: ${JSON.stringify(claims.amr)}`);
    assert.deepEqual(problems, []);
    await context.close();
  });
});

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { boot, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, redirectMessageXml } from '../helpers/saml-sp.ts';
import { authRequest, createRp } from '../helpers/oidc-rp.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';

const PASSWORD = 'Redirects-pass-2026';

/** A page on its own loopback origin: where the SPs below send the browser after Stepgate's POST. */
async function landingServer(): Promise<{ server: Server; url: string; visits: string[] }> {
  const visits: string[] = [];
  const server = createServer((req, res) => {
    visits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>application</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, visits };
}

/**
 * The SP answers the POST Stepgate's page makes with a redirect elsewhere, as many do (split
 * sso./app. hosts, an http→https upgrade, Shibboleth SP's Redirect-binding LogoutResponse). Chromium
 * checks every redirect after a form submission against the page's form-action.
 */
describe("Stepgate's auto-POST pages let the application redirect the browser onwards (real Chromium)", () => {
  let app: Booted;
  let browser: Browser;
  let landing: Awaited<ReturnType<typeof landingServer>>;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'dana', PASSWORD);
    landing = await landingServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    landing?.server.closeAllConnections();
    landing?.server.close();
    await app?.close();
  });

  test('sign-in: the ACS answers the posted Response with a 302 to another origin, and the browser gets there', { timeout: 60_000 }, async () => {
    const sp = await TestSp.create(app, { name: 'split-host' });
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    let posted: URLSearchParams | undefined;
    await page.route(`${sp.acsUrl}**`, (route) => {
      posted = new URLSearchParams(route.request().postData() ?? '');
      return route.fulfill({ status: 302, headers: { location: `${landing.url}/app/home` } });
    });

    await page.goto((await sp.authnRequest('relay-9')).url);
    await page.getByLabel('Username').fill('dana');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${landing.url}/app/home`, { timeout: 10_000 });

    assert.equal(posted?.get('RelayState'), 'relay-9');
    assert.ok((await sp.validate(posted!.get('SAMLResponse')!)).profile?.nameID);
    assert.ok(landing.visits.includes('/app/home'), 'the redirect target was loaded');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('Single Logout: the SP answers the posted LogoutRequest with a Redirect-binding LogoutResponse to Stepgate, and the sign-out completes', { timeout: 60_000 }, async () => {
    const sp = await TestSp.create(app, { name: 'post-slo' });
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    let logoutResponseUrl: string | undefined;
    await page.route(`${sp.acsUrl}**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<p>signed in</p>' }));
    await page.route(`${sp.sloUrl}**`, async (route) => {
      const fields = new URLSearchParams(route.request().postData() ?? '');
      const { profile } = await sp.client().validatePostRequestAsync({ SAMLRequest: fields.get('SAMLRequest')! });
      // As Shibboleth SP does: whatever binding the request came by, the response goes back by Redirect.
      logoutResponseUrl = (await sp.logoutResponse(profile!, fields.get('RelayState') ?? '', { binding: 'redirect' })).url;
      return route.fulfill({ status: 302, headers: { location: logoutResponseUrl } });
    });

    await page.goto((await sp.authnRequest()).url);
    await page.getByLabel('Username').fill('dana');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${sp.acsUrl}**`);

    await page.goto(`${app.url}/logout`);
    await page.getByRole('button', { name: /Sign out/ }).click();
    await page.getByRole('heading', { name: 'Signed out', exact: true }).waitFor({ timeout: 10_000 });

    assert.ok(logoutResponseUrl, 'the browser carried the LogoutRequest to the SP');
    assert.match(redirectMessageXml(logoutResponseUrl, 'SAMLResponse'), /status:Success/);
    assert.equal(new URL(page.url()).pathname, '/saml/slo/done', "Stepgate took up the SP's redirect, and ended the run on its result page");
    assert.equal(await page.getByRole('status').innerText(), 'You are signed out. You can close this window.');
    assert.deepEqual(await page.locator('ul.apps-confirmed li').allInnerTexts(), ['post-slo'], 'the SP confirmed');
    await page.reload();
    assert.equal(await page.getByRole('status').innerText(), 'You are signed out. You can close this window.', 'Reload shows the result again');
    assert.deepEqual(await page.locator('ul.apps-confirmed li').allInnerTexts(), ['post-slo']);
    assert.deepEqual(await app.services.store.kv.entries('saml-slo-run'), [], 'the run finished');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("OIDC response_mode=form_post (oidc-provider's page): the client's callback answers with a 302 to another origin, and the browser gets there", { timeout: 60_000 }, async () => {
    const callbackUri = 'https://form-post-rp.example/cb';
    const rp = { ...(await createRp(app, { redirectUris: [callbackUri] })), redirectUri: callbackUri };
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    let posted: URLSearchParams | undefined;
    let lastStepgatePageCsp: string | undefined;
    let formPostCsp: string | undefined;
    page.on('response', (response) => {
      if (response.request().resourceType() === 'document' && response.url().startsWith(app.url)) lastStepgatePageCsp = response.headers()['content-security-policy'];
    });
    await page.route(`${callbackUri}**`, (route) => {
      posted = new URLSearchParams(route.request().postData() ?? '');
      formPostCsp = lastStepgatePageCsp;
      return route.fulfill({ status: 302, headers: { location: `${landing.url}/rp/home` } });
    });

    await page.goto((await authRequest(rp, { response_mode: 'form_post' })).url.toString());
    await page.getByLabel('Username').fill('dana');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${landing.url}/rp/home`, { timeout: 10_000 });

    assert.ok(posted?.get('code'), 'the code was posted to the callback');
    assert.match(formPostCsp ?? '', /script-src[^;]*'sha256-/, "the page before the callback was oidc-provider's auto-submitting form_post page");
    assert.doesNotMatch(formPostCsp ?? '', /form-action/);
    assert.deepEqual(problems, []);
    await context.close();
  });
});

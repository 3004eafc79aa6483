import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, createRp, createUser, redeem, type TestRp } from '../helpers/oidc-rp.ts';
import { launchChromium } from '../helpers/chromium.ts';

const ALICE = { username: 'alice', password: 'Browser-session-pass-2026' };

/**
 * The sign-in's cookies end with the browser, as at common IdPs without "remember me": on a shared
 * computer, closing the browser signs its user out of every application. The server's idle and
 * absolute timeouts still end the session in a browser left open.
 */
describe('sign-in cookies in real headless Chromium', () => {
  let app: Booted;
  let browser: Browser;
  let aliceId: string;
  /** The two relying parties' pages (callbacks, post-logout pages), on a loopback origin of their own. */
  let landing: Server;
  const rps: TestRp[] = [];

  before(async () => {
    app = await boot();
    aliceId = await createUser(app, ALICE);
    landing = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>application</p>'));
    await new Promise<void>((resolve) => landing.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(landing.address() as { port: number }).port}`;
    for (const name of ['one', 'two']) {
      const [redirectUri, postLogoutRedirectUri] = [`${origin}/${name}/cb`, `${origin}/${name}/signed-out`];
      rps.push({ ...(await createRp(app, { redirectUris: [redirectUri], postLogoutRedirectUris: [postLogoutRedirectUri] })), redirectUri, postLogoutRedirectUri });
    }
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    landing?.closeAllConnections();
    landing?.close();
    await app?.close();
  });

  async function newPage(cookies: Cookie[] = []): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    await context.addCookies(cookies);
    return { context, page: await context.newPage() };
  }

  /** An authorization request at `rp`; types the password only when the sign-in page comes. Returns whether it came, and the ID Token's subject. */
  async function signInAt(page: Page, rp: TestRp, params: Record<string, string> = {}): Promise<{ askedForPassword: boolean; sub: unknown }> {
    const request = await authRequest(rp, params);
    await page.goto(request.url.toString());
    const askedForPassword = !page.url().startsWith(rp.redirectUri);
    if (askedForPassword) {
      await page.getByLabel('Username').fill(ALICE.username);
      await page.getByLabel('Password').fill(ALICE.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${rp.redirectUri}?**`);
    }
    return { askedForPassword, sub: (await redeem(rp, request, new URL(page.url()))).claims()!.sub };
  }

  const stepgateCookies = async (context: BrowserContext): Promise<Map<string, Cookie>> => new Map((await context.cookies(app.url)).map((cookie) => [cookie.name, cookie]));
  /** What a browser keeps when it is closed and opened again: its persistent cookies (expires -1: ends with the browser). */
  const keptOverRestart = async (context: BrowserContext): Promise<Cookie[]> => (await context.cookies()).filter((cookie) => cookie.expires !== -1);

  test('the SSO session and oidc-provider session cookies end with the browser; the familiar-device cookie is kept', { timeout: 60_000 }, async () => {
    const { context, page } = await newPage();
    assert.deepEqual(await signInAt(page, rps[0]!), { askedForPassword: true, sub: aliceId });
    const cookies = await stepgateCookies(context);
    assert.equal(cookies.get('sg_session')?.expires, -1, 'sg_session: no Max-Age or Expires');
    assert.equal(cookies.get('sg_oidc_session')?.expires, -1, 'sg_oidc_session: no Max-Age or Expires');
    assert.ok((cookies.get('sg_device')?.expires ?? 0) > Date.now() / 1000 + 89 * 86_400, 'sg_device: 90 days, deliberately');

    const { context: restarted, page: again } = await newPage(await keptOverRestart(context));
    assert.deepEqual(await signInAt(again, rps[0]!), { askedForPassword: true, sub: aliceId }, 'after a browser restart the password is asked for again');
    await restarted.close();
    await context.close();
  });

  test('SSO across applications, prompt=none without a provider session yet, and logout still work', { timeout: 60_000 }, async () => {
    const { context, page } = await newPage();
    assert.deepEqual(await signInAt(page, rps[0]!), { askedForPassword: true, sub: aliceId });
    assert.deepEqual(await signInAt(page, rps[1]!), { askedForPassword: false, sub: aliceId }, 'the second application signs in without a password');

    // As after a SAML sign-in: the SSO session but no provider session; prompt=none makes one silently.
    await context.clearCookies({ name: 'sg_oidc_session' });
    assert.deepEqual(await signInAt(page, rps[1]!, { prompt: 'none' }), { askedForPassword: false, sub: aliceId });
    assert.equal((await stepgateCookies(context)).get('sg_oidc_session')?.expires, -1, 'the silently made provider session ends with the browser too');
    const { context: restarted, page: again } = await newPage(await keptOverRestart(context));
    assert.deepEqual(await signInAt(again, rps[1]!), { askedForPassword: true, sub: aliceId }, 'after a browser restart the password is asked for again');
    await restarted.close();

    const request = await authRequest(rps[0]!);
    await page.goto(request.url.toString());
    const { id_token } = await redeem(rps[0]!, request, new URL(page.url()));
    await page.goto(oidc.buildEndSessionUrl(rps[0]!.config, { id_token_hint: id_token!, post_logout_redirect_uri: rps[0]!.postLogoutRedirectUri, state: 'bye' }).toString());
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${rps[0]!.postLogoutRedirectUri}?**`);
    assert.equal(new URL(page.url()).searchParams.get('state'), 'bye');
    assert.deepEqual(await signInAt(page, rps[1]!), { askedForPassword: true, sub: aliceId }, 'signed out of every application');
    await context.close();
  });
});

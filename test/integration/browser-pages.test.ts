import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Route } from 'playwright-core';
import { boot, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, redirectMessageXml } from '../helpers/saml-sp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';
import { ACR } from '../../src/policy/levels.ts';

const PASSWORD = 'Browser-pass-2026';

/** Catches what the browser posts to an SP's ACS (the SP's host does not exist) and answers 200. */
function captureAcs(route: Route, sink: (fields: URLSearchParams) => void): Promise<void> {
  sink(new URLSearchParams(route.request().postData() ?? ''));
  return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>received</p>' });
}

describe('pages in real headless Chromium', () => {
  let app: Booted;
  let browser: Browser;
  let mfaSp: TestSp;
  let plainSp: TestSp;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'carol', PASSWORD);
    mfaSp = await TestSp.create(app, { name: 'chromium-mfa', register: { policy: 'permit-everyone-require-mfa' } });
    plainSp = await TestSp.create(app, { name: 'chromium-plain' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  test('SAML sign-in with TOTP enrollment: forms, QR code and the auto-posted response work under the CSP', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    let posted: URLSearchParams | undefined;
    await page.route('https://chromium-mfa.sp.test/**', (route) => captureAcs(route, (fields) => (posted = fields)));

    const { url } = await mfaSp.authnRequest('relay-1', { disableRequestedAuthnContext: true });
    await page.goto(url);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: /Set up your authenticator app/ }).waitFor();
    const qrWidth = await page.locator('img.qr').evaluate((image: HTMLImageElement) => image.naturalWidth);
    assert.ok(qrWidth > 0, 'the server-rendered QR code loads');
    const secret = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Code from the app').fill(oathtoolTotp(secret, Date.now()));
    await page.getByRole('button', { name: 'Confirm and activate' }).click();

    await page.getByRole('heading', { name: /Your backup codes/ }).waitFor();
    await page.locator('form button[type=submit]').last().click();
    await page.waitForURL('https://chromium-mfa.sp.test/**');

    assert.ok(posted, 'the browser posted the SAMLResponse to the ACS by itself');
    assert.equal(posted.get('RelayState'), 'relay-1');
    const { profile } = await mfaSp.validate(posted.get('SAMLResponse')!);
    assert.ok(profile?.nameID);
    const xml = Buffer.from(posted.get('SAMLResponse')!, 'base64').toString('utf8');
    assert.match(xml, new RegExp(`<saml:AuthnContextClassRef>${ACR.mfa.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</saml:AuthnContextClassRef>`));
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('without JavaScript every step still works: sign in, then the visible Continue button posts the response', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const { page, problems } = await watchedPage(context);
    let posted: URLSearchParams | undefined;
    await page.route('https://chromium-plain.sp.test/**', (route) => captureAcs(route, (fields) => (posted = fields)));

    await page.goto((await plainSp.authnRequest()).url);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: /Continue/ }).click();
    await page.waitForURL('https://chromium-plain.sp.test/**');

    assert.ok(posted);
    const { profile } = await plainSp.validate(posted.get('SAMLResponse')!);
    assert.equal(profile?.email, 'carol@example.org');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a wrong password shows the error in an alert region and keeps the username', { timeout: 30_000 }, async () => {
    const context = await browser.newContext();
    const { page } = await watchedPage(context);
    await page.goto((await plainSp.authnRequest()).url);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'Invalid username or password.' }).waitFor());
    assert.equal(await page.getByLabel('Username').inputValue(), 'carol');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-describedby'), 'form-error', 'the error is read with the field');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Username').getAttribute('autocapitalize'), 'none', 'phones do not capitalise the username');
    await context.close();
  });

  test('on a phone-sized screen the sign-in card fits the width', { timeout: 30_000 }, async () => {
    for (const width of [320, 360, 390]) {
      const context = await browser.newContext({ viewport: { width, height: 740 } });
      const { page } = await watchedPage(context);
      await page.goto((await plainSp.authnRequest()).url);
      const box = await page.locator('.card').boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= width, `at ${width}px the card spans ${box?.x}..${box ? box.x + box.width : '?'}`);
      await context.close();
    }
  });
  test('Single Logout through the browser: the POST hop to another SP auto-submits under its CSP, the SP\'s cross-site POST answer is taken up in the same browser, and the first SP gets Success', { timeout: 60_000 }, async () => {
    const redirectSp = await TestSp.create(app, { name: 'chromium-slo-a', redirectSlo: true });
    const postSp = await TestSp.create(app, { name: 'chromium-slo-c', binding: 'post' });
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    const acs: Record<string, URLSearchParams> = {};
    let toC: { samlRequest: string; relayState: string } | undefined;
    let finalUrl: string | undefined;
    await page.route('https://chromium-slo-a.sp.test/**', (route) => {
      if (route.request().url().startsWith(redirectSp.sloUrl)) {
        finalUrl = route.request().url();
        return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>signed out at A</p>' });
      }
      return captureAcs(route, (fields) => (acs.a = fields));
    });
    await page.route('https://chromium-slo-c.sp.test/**', async (route) => {
      if (!route.request().url().startsWith(postSp.sloUrl)) return captureAcs(route, (fields) => (acs.c = fields));
      const fields = new URLSearchParams(route.request().postData() ?? '');
      toC = { samlRequest: fields.get('SAMLRequest')!, relayState: fields.get('RelayState')! };
      const { profile } = await postSp.client().validatePostRequestAsync({ SAMLRequest: toC.samlRequest });
      // The SP answers as SPs do: an auto-submitting form posting its LogoutResponse back cross-site.
      const answer = await postSp.logoutResponse(profile!, toC.relayState, { binding: 'post' });
      const inputs = Object.entries(answer.fields!).map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`).join('');
      return route.fulfill({ status: 200, contentType: 'text/html', body: `<form method="post" action="${answer.url}">${inputs}</form><script>document.forms[0].submit()</script>` });
    });

    await page.goto((await redirectSp.authnRequest()).url);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('https://chromium-slo-a.sp.test/**');
    const { profile: profileA } = await redirectSp.validate(acs.a!.get('SAMLResponse')!);
    // Single sign-on at C: no password, the response auto-posts.
    const atC = await postSp.authnRequest();
    await page.setContent(`<form method="post" action="${atC.url}">${Object.entries(atC.fields!).map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`).join('')}</form>`);
    await page.locator('form').evaluate((form: HTMLFormElement) => form.submit());
    await page.waitForURL('https://chromium-slo-c.sp.test/**');
    assert.ok(acs.c?.get('SAMLResponse'), 'signed in at C by single sign-on');

    await page.goto(await redirectSp.logoutUrl(profileA!, 'bye'));
    await page.waitForURL(`${redirectSp.sloUrl}?**`);
    assert.ok(toC, 'the browser carried a LogoutRequest to C by itself');
    const final = new URL(finalUrl!);
    assert.equal(final.searchParams.get('RelayState'), 'bye');
    assert.equal((await redirectSp.client().validateRedirectAsync(Object.fromEntries(final.searchParams), final.search.slice(1))).loggedOut, true);
    assert.match(redirectMessageXml(finalUrl!, 'SAMLResponse'), /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"><\/samlp:StatusCode><\/samlp:Status>/, 'plain Success: C confirmed');
    assert.deepEqual(await app.services.store.kv.entries('saml-slo-run'), [], 'the run finished');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the boundaries of text fields and of the secondary button contrast 3:1 with the card (WCAG 1.4.11)', { timeout: 30_000 }, async () => {
    const context = await browser.newContext();
    const { page } = await watchedPage(context);
    await page.goto((await plainSp.authnRequest()).url);
    const styleOf = (selector: string) => page.locator(selector).first().evaluate((element) => {
      const style = getComputedStyle(element);
      return { border: style.borderTopColor, borderWidth: parseFloat(style.borderTopWidth), background: style.backgroundColor };
    });
    const card = (await styleOf('.card')).background;
    const field = await styleOf('input[name=username]');
    assert.ok(field.borderWidth >= 1 && contrast(field.border, card) >= 3, `text field border ${field.border} on ${card}: ${contrast(field.border, card).toFixed(2)}:1`);
    // "Cancel and go back": its boundary is its border or its fill, whichever stands out from the card.
    const secondary = await styleOf('button.secondary');
    const boundary = Math.max(secondary.borderWidth >= 1 ? contrast(secondary.border, card) : 1, contrast(secondary.background, card));
    assert.ok(boundary >= 3, `secondary button (border ${secondary.border} ${secondary.borderWidth}px, fill ${secondary.background}) on ${card}: ${boundary.toFixed(2)}:1`);
    await context.close();
  });
});

/** WCAG 2 contrast ratio of two opaque CSS colours as getComputedStyle gives them ("rgb(r, g, b)"). */
function contrast(first: string, second: string): number {
  const luminance = (color: string) => {
    const [r, g, b] = color.match(/\d+(\.\d+)?/g)!.slice(0, 3).map((channel) => {
      const value = Number(channel) / 255;
      return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [light, dark] = [luminance(first), luminance(second)].sort((a, b) => b - a) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

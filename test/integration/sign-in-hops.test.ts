import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, parseForms, type Page } from '../helpers/browser.ts';
import { authRequest, createRp, createUser, isPasswordPage, redeem } from '../helpers/oidc-rp.ts';
import { TestSp, samlPostForm } from '../helpers/saml-sp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { ACR } from '../../src/policy/levels.ts';

const PASSWORD = 'correct horse 42';
/** 160-bit Base32 TOTP secrets, registered directly (as `mfa import` does), so the browser sees only the code step. */
const OIDC_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const SAML_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

let app: Booted;

/** One request as the browser made it: method, where, status and (for a redirect) where to. */
interface Hop {
  method: string;
  url: URL;
  status: number;
  location?: URL;
}

/**
 * Drives a TestBrowser one request at a time (never following redirects by itself) and records every
 * request, so a test can assert the exact sequence of hops a sign-in costs.
 */
class HopRecorder {
  readonly browser = new TestBrowser();
  readonly hops: Hop[] = [];

  async request(url: string, init: { method?: string; body?: URLSearchParams } = {}): Promise<Page> {
    const page = await this.browser.request(url, { ...init, followRedirects: false });
    const location = page.headers.get('location');
    this.hops.push({ method: init.method ?? 'GET', url: new URL(url), status: page.status, ...(location ? { location: new URL(location, url) } : {}) });
    return page;
  }

  /** Follows the redirect `page` answered with, as a browser would (303: GET). */
  follow(page: Page): Promise<Page> {
    assert.ok(page.status >= 300 && page.status < 400, `expected a redirect, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
    return this.request(new URL(page.headers.get('location')!, page.url).toString());
  }

  /** Submits the page's only form with `values` (besides "Cancel and go back"). */
  submit(page: Page, values: Record<string, string>): Promise<Page> {
    const form = stepForm(page);
    return this.request(form.action, { method: form.method, body: new URLSearchParams({ ...form.fields, ...values }) });
  }

  /** The hops as "METHOD path → status [location]", paths on Stepgate relative to its origin, others in full (queries left out). */
  summary(): string[] {
    const where = (url: URL) => (url.origin === app.url ? url.pathname : `${url.origin}${url.pathname}`);
    return this.hops.map((hop) => `${hop.method} ${where(hop.url)} → ${hop.status}${hop.location ? ` ${where(hop.location)}` : ''}`);
  }
}

/** The step's own form: besides it, a sign-in page has only "Cancel and go back" (and a code page "Not you?"). */
function stepForm(page: Page): ReturnType<typeof parseForms>[number] {
  const forms = parseForms(page.body, page.url).filter((form) => !form.action.endsWith('/cancel') && !form.action.endsWith('/switch-account'));
  assert.equal(forms.length, 1, `expected one form besides Cancel and "Not you?" on ${page.url} (status ${page.status}):\n${page.body.slice(0, 400)}`);
  return forms[0]!;
}

function formAction(page: Page): string {
  return new URL(stepForm(page).action).pathname;
}

function isCodePage(page: Page): boolean {
  return page.status === 200 && /Enter your code/.test(page.body) && /name="code"/.test(page.body);
}

async function enrollTotp(userId: string, username: string, secret: string): Promise<void> {
  await app.services.mfa.enrollments.put(userId, username, secret, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, Date.now());
}

before(async () => {
  app = await boot();
});
after(() => app?.close());

/**
 * Every accepted form is answered with a 303 to the sign-in's page (Post/Redirect/Get: Reload and Back
 * never send a form again), except the last, which is answered with the protocol's response itself.
 */
describe('the hops a sign-in costs the browser', () => {
  test('OIDC, fresh browser, password + TOTP under a require-MFA policy: four requests, the authorization request answered with the password page and the code step with the redirect to the client', async () => {
    const userId = await createUser(app, { username: 'hops-oidc', password: PASSWORD });
    await enrollTotp(userId, 'hops-oidc', OIDC_SECRET);
    const rp = await createRp(app, { policy: 'permit-everyone-require-mfa' });
    const request = await authRequest(rp);
    const recorder = new HopRecorder();

    const passwordPage = await recorder.request(request.url.toString());
    assert.ok(isPasswordPage(passwordPage), `the authorization request answers with the password page itself, got ${passwordPage.status}\n${passwordPage.body.slice(0, 400)}`);
    const cookies = recorder.browser.cookieHeader(app.url);
    assert.match(cookies, /sg_oidc_interaction=/, 'oidc-provider\'s interaction cookie is kept');
    assert.match(cookies, /sg_oidc_resume=/, 'and its resume cookie');
    const tx = /^\/login\/([^/]+)\/password$/.exec(formAction(passwordPage))?.[1];
    assert.ok(tx, `the password form posts to /login/<tx>/password, got ${formAction(passwordPage)}`);

    const codePage = await recorder.follow(await recorder.submit(passwordPage, { username: 'hops-oidc', password: PASSWORD }));
    assert.ok(isCodePage(codePage), `the password step leads to the code page, got ${codePage.status}\n${codePage.body.slice(0, 400)}`);
    assert.equal(formAction(codePage), `/login/${tx}/mfa/totp`);

    await recorder.submit(codePage, { code: oathtoolTotp(OIDC_SECRET, Date.now()) });

    assert.deepEqual(recorder.summary(), [
      `GET /oidc/auth → 200`,
      `POST /login/${tx}/password → 303 /login/${tx}`,
      `GET /login/${tx} → 200`,
      `POST /login/${tx}/mfa/totp → 303 ${rp.redirectUri}`,
    ]);
    assert.ok(recorder.hops.every((hop) => hop.url.origin === app.url), 'the browser never leaves Stepgate before the callback');

    const location = recorder.hops.at(-1)!.location!;
    assert.equal(location.searchParams.get('state'), request.state);
    assert.ok(location.searchParams.get('code'), `the callback carries a code: ${location}`);
    assert.equal(location.searchParams.get('error'), null);
    const claims = (await redeem(rp, request, location)).claims()!;
    assert.equal(claims.sub, userId);
    assert.equal(claims.acr, ACR.mfa);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  });

  test('SAML Redirect binding, fresh browser, password + TOTP: the SSO request answers with a 303 to the sign-in page (the request itself is not kept in history), the code step with the auto-post form', async () => {
    const userId = await createUser(app, { username: 'hops-saml', password: PASSWORD });
    await enrollTotp(userId, 'hops-saml', SAML_SECRET);
    const sp = await TestSp.create(app, { name: 'hops-mfa-sp', register: { policy: 'permit-everyone-require-mfa' } });
    const recorder = new HopRecorder();

    const redirect = await recorder.request((await sp.authnRequest('relay-1', { disableRequestedAuthnContext: true })).url);
    assert.equal(redirect.status, 303, `GET /saml/sso answers with a redirect, got ${redirect.status}\n${redirect.body.slice(0, 400)}`);
    assert.ok(recorder.browser.cookieHeader(app.url), 'the first answer binds the browser with a cookie');
    const passwordPage = await recorder.follow(redirect);
    assert.ok(isPasswordPage(passwordPage), `expected the password page, got ${passwordPage.status}\n${passwordPage.body.slice(0, 400)}`);
    const tx = /^\/login\/([^/]+)\/password$/.exec(formAction(passwordPage))?.[1];
    assert.ok(tx, `the password form posts to /login/<tx>/password, got ${formAction(passwordPage)}`);

    const codePage = await recorder.follow(await recorder.submit(passwordPage, { username: 'hops-saml', password: PASSWORD }));
    assert.ok(isCodePage(codePage), `the password step leads to the code page, got ${codePage.status}\n${codePage.body.slice(0, 400)}`);
    const postPage = await recorder.submit(codePage, { code: oathtoolTotp(SAML_SECRET, Date.now()) });

    assert.deepEqual(recorder.summary(), [
      `GET /saml/sso → 303 /login/${tx}`,
      `GET /login/${tx} → 200`,
      `POST /login/${tx}/password → 303 /login/${tx}`,
      `GET /login/${tx} → 200`,
      `POST /login/${tx}/mfa/totp → 200`,
    ]);
    const form = samlPostForm(postPage);
    assert.equal(form.action, sp.acsUrl);
    assert.equal(form.fields.RelayState, 'relay-1');
    assert.ok((await sp.validate(form.fields.SAMLResponse!)).profile, 'node-saml accepts the response');
    assert.ok(Buffer.from(form.fields.SAMLResponse!, 'base64').toString('utf8').includes(`<saml:AuthnContextClassRef>${ACR.mfa}</saml:AuthnContextClassRef>`));
  });

  test('SAML POST binding (cross-site, no cookies): one 303 to /login/<tx>, then the password page and the auto-post form', async () => {
    await createUser(app, { username: 'hops-post', password: PASSWORD });
    const sp = await TestSp.create(app, { name: 'hops-post-sp', binding: 'post' });
    const recorder = new HopRecorder();
    const request = await sp.authnRequest('relay-2', { disableRequestedAuthnContext: true });
    assert.ok(request.fields, 'a POST-binding request');

    const redirect = await recorder.request(request.url, { method: 'POST', body: new URLSearchParams(request.fields) });
    assert.equal(redirect.status, 303);
    const tx = /^\/login\/([^/]+)$/.exec(recorder.hops[0]!.location!.pathname)?.[1];
    assert.ok(tx, `redirected to /login/<tx>, got ${redirect.headers.get('location')}`);

    const passwordPage = await recorder.follow(redirect);
    assert.ok(isPasswordPage(passwordPage), `expected the password page, got ${passwordPage.status}\n${passwordPage.body.slice(0, 400)}`);
    assert.equal(formAction(passwordPage), `/login/${tx}/password`);
    const postPage = await recorder.submit(passwordPage, { username: 'hops-post', password: PASSWORD });

    assert.deepEqual(recorder.summary(), [
      `POST /saml/sso → 303 /login/${tx}`,
      `GET /login/${tx} → 200`,
      `POST /login/${tx}/password → 200`,
    ]);
    const form = samlPostForm(postPage);
    assert.equal(form.action, sp.acsUrl);
    assert.equal(form.fields.RelayState, 'relay-2');
    assert.ok((await sp.validate(form.fields.SAMLResponse!)).profile, 'node-saml accepts the response');
    assert.ok(Buffer.from(form.fields.SAMLResponse!, 'base64').toString('utf8').includes(`<saml:AuthnContextClassRef>${ACR.password}</saml:AuthnContextClassRef>`));
  });
});

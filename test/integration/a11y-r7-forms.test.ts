import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { mintBootstrapSecretIfNeeded } from '../../src/admin/bootstrap.ts';
import type { LoginRequest } from '../../src/core/types.ts';

const PASSWORD = 'Correct-horse-42';
const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
let now = Date.parse('2026-11-22T10:00:00Z');
const clock = { now: () => now };

/** The attributes of the input with this id, as the page has them. */
function input(page: Page, id: string): Record<string, string | true> {
  const tag = new RegExp(`<input id="${id}"([^>]*)>`).exec(page.body);
  assert.ok(tag, `no #${id} on ${page.url}`);
  const attributes: Record<string, string | true> = {};
  for (const [, name, value] of tag[1]!.matchAll(/([a-z-]+)(?:="([^"]*)")?/g)) attributes[name!] = value ?? true;
  return attributes;
}

const describedBy = (page: Page, id: string) => String(input(page, id)['aria-describedby'] ?? '').split(' ').filter(Boolean);
const titleOf = (page: Page) => /<title>([^<]*) · Stepgate<\/title>/.exec(page.body)?.[1];
const h1Of = (page: Page) => /<h1>([^<]*)<\/h1>/.exec(page.body)?.[1];

describe('bootstrap page: rules before typing, every problem at once, on the fields they concern', () => {
  let app: Booted;
  before(async () => {
    app = await boot();
    await mintBootstrapSecretIfNeeded(app.services.store, Date.now());
  });
  after(() => app?.close());

  test('the password rules are shown under its label and read with it', async () => {
    const form = await new TestBrowser().get(`${app.url}/admin/bootstrap`);
    assert.match(form.body, /<p class="hint field-hint" id="field-password-hint">It must be at least 14 characters long, contain a letter, contain a digit and not contain your username\.<\/p>/);
    assert.deepEqual(describedBy(form, 'field-password'), ['field-password-hint']);
    assert.equal(input(form, 'field-secret').autofocus, true);
  });

  test('a bad username, a weak password and a different confirmation are all listed; each field is marked; the focused secret reads the list', async () => {
    const browser = new TestBrowser();
    const form = await browser.get(`${app.url}/admin/bootstrap`);
    const refused = await browser.submit(form, { secret: 'guess', username: 'a', password: 'short', confirmPassword: 'other' });
    assert.equal(refused.status, 400);
    assert.match(refused.body, /<div class="error" role="alert" id="form-error"><ul><li>The username may use[^<]*<\/li><li>The password was refused\. It must be at least 14 characters long\. It must contain a digit\.<\/li><li>The two passwords are not the same\.<\/li><\/ul><\/div>/);
    for (const id of ['field-username', 'field-password', 'field-confirmPassword']) {
      assert.equal(input(refused, id)['aria-invalid'], 'true', id);
      assert.ok(describedBy(refused, id).includes('form-error'), id);
    }
    const secret = input(refused, 'field-secret');
    assert.equal(secret.autofocus, true, 'the focus is on the first field, emptied, which must be typed again');
    assert.equal(secret['aria-invalid'], undefined, 'the secret was not checked: it is not said to be wrong');
    assert.deepEqual(describedBy(refused, 'field-secret'), ['form-error'], 'the focused field reads the problems');
    assert.deepEqual(describedBy(refused, 'field-password'), ['form-error', 'field-password-hint']);
  });

  test('a wrong secret marks the secret', async () => {
    const browser = new TestBrowser();
    const form = await browser.get(`${app.url}/admin/bootstrap`);
    const refused = await browser.submit(form, { secret: 'guess', username: 'first-admin', password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1' });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /That bootstrap secret is not valid\. Type it exactly as Stepgate printed it, or print a new one with &quot;npm run cli -- admin bootstrap-secret&quot;\./);
    assert.equal(input(refused, 'field-secret')['aria-invalid'], 'true');
    assert.equal(input(refused, 'field-password')['aria-invalid'], undefined);
  });
});

describe('sign-in pages', () => {
  let app: Booted;
  before(async () => {
    app = await boot({ directory: { kind: 'local' } }, { clock });
  });
  after(() => app?.close());

  async function open(browser: TestBrowser, overrides: Partial<LoginRequest> = {}) {
    const tx = await app.services.interaction.deps.transactions.create(request({ rpName: 'Payroll', handoff: { finisher: TEST_FINISHER, ref: '' }, ...overrides }));
    return browser.get(`${app.url}/login/${tx.id}`);
  }

  test('change password: a refused new password marks the new fields only and says what was refused; a wrong current one marks the current field only', async () => {
    await addLocalUser(app.services, 'renata', PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const changePage = await browser.submit(await open(browser), { username: 'renata', password: PASSWORD });
    assert.equal(titleOf(changePage), 'Change your password');

    const weak = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: 'short', confirmPassword: 'short' });
    assert.equal(weak.status, 400);
    assert.match(weak.body, /<p class="error" role="alert" id="form-error">The new password was refused\. It must be at least 12 characters long\./);
    assert.equal(input(weak, 'field-currentPassword')['aria-invalid'], undefined, 'the current password was right');
    assert.equal(input(weak, 'field-currentPassword').autofocus, true);
    assert.deepEqual(describedBy(weak, 'field-currentPassword'), ['form-error'], 'the focused field reads the error');
    assert.equal(input(weak, 'field-newPassword')['aria-invalid'], 'true');
    assert.deepEqual(describedBy(weak, 'field-newPassword'), ['form-error', 'password-rules'], 'and the rules shown above');
    assert.equal(input(weak, 'field-confirmPassword')['aria-invalid'], 'true');

    const wrong = await browser.submit(weak, { currentPassword: 'Not-the-password-1', newPassword: 'Brand-new-pass-44', confirmPassword: 'Brand-new-pass-44' });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body, /The current password is not correct\./);
    assert.equal(input(wrong, 'field-currentPassword')['aria-invalid'], 'true');
    assert.equal(input(wrong, 'field-newPassword')['aria-invalid'], undefined);
    assert.equal(input(wrong, 'field-confirmPassword')['aria-invalid'], undefined);
  });

  test('the locked code page is titled for what it is and asks for no code', async () => {
    const userId = await addLocalUser(app.services, 'lockedout', PASSWORD);
    await app.services.mfa.enrollments.put(userId, 'lockedout', SECRET, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, now);
    const browser = new TestBrowser();
    let codePage = await browser.submit(await open(browser, { rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false } }), { username: 'lockedout', password: PASSWORD });
    assert.equal(titleOf(codePage), 'Enter your code');
    const wrong = oathtoolTotp(SECRET, now) === '000000' ? '111111' : '000000';
    for (let i = 0; i < 10 && !/blocked for your account/.test(codePage.body); i++) codePage = await browser.submit(codePage, { code: wrong });
    assert.equal(codePage.status, 429);
    assert.equal(titleOf(codePage), 'Codes are blocked for now');
    assert.equal(h1Of(codePage), 'Codes are blocked for now');
    assert.doesNotMatch(codePage.body, /asks for a second step/);
    assert.doesNotMatch(codePage.body, /name="code"/);
    assert.match(codePage.body, /Cancel and go back to Payroll/, 'the way on is still offered');
  });

  test('"My security" is named so that the sentences it is put in read well', async () => {
    const userId = await addLocalUser(app.services, 'selma', PASSWORD);
    await app.services.mfa.enrollments.put(userId, 'selma', SECRET, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, now);
    const browser = new TestBrowser();
    const login = await browser.get(`${app.url}/account/security`);
    assert.match(login.body, /<p>to continue to <strong>My security<\/strong><\/p>/);
    const codePage = await browser.submit(login, { username: 'selma', password: PASSWORD });
    assert.match(codePage.body, /<p id="code-prompt"><strong>My security<\/strong> asks for a second step: the 6-digit code from your authenticator app\.<\/p>/);
  });
});

describe('error pages say what to do next, without jargon', () => {
  let app: Booted;
  before(async () => {
    app = await boot();
  });
  after(() => app?.close());

  test('an unknown application, a request that cannot be read', async () => {
    const unknown = await new TestBrowser().get(`${app.url}/oidc/auth?${new URLSearchParams({ client_id: 'no-such-client', response_type: 'code', scope: 'openid', redirect_uri: 'https://app.example/cb' })}`);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /The application that sent you here is not registered with this sign-in service\. Go back to it, and tell its administrator or your helpdesk\./);
    assert.doesNotMatch(unknown.body, /identity provider/);
    const unreadable = await new TestBrowser().get(`${app.url}/login/%E0%A4%A`);
    assert.equal(unreadable.status, 400);
    assert.match(unreadable.body, /Your browser sent a request this service cannot read\. Go back, reload the page and try again; if it keeps happening, contact your helpdesk\./);
  });
});

describe('the second-step setup sent elsewhere has one title, during a sign-in and on "My security"', () => {
  const HOME = { 'x-forwarded-for': '198.51.100.7' };
  const TITLE = 'Set up your second step from your organisation&#39;s network';
  let app: Booted;
  before(async () => {
    app = await boot({ directory: { kind: 'local' }, server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['192.0.2.0/24'] }, mfa: { enrollment: { networks: ['office'] } } }, { clock });
  });
  after(() => app?.close());

  test('sign-in: not "Access denied", and no "if you think you should be able to use" footer', async () => {
    await addLocalUser(app.services, 'nomad', PASSWORD);
    const browser = new TestBrowser();
    const tx = await app.services.interaction.deps.transactions.create(request({ rpName: 'Expenses', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
    const login = await browser.get(`${app.url}/login/${tx.id}`, { headers: HOME });
    const refused = await browser.submit(login, { username: 'nomad', password: PASSWORD }, undefined, HOME);
    assert.equal(refused.status, 403);
    assert.equal(titleOf(refused), TITLE);
    assert.equal(h1Of(refused), TITLE);
    assert.match(refused.body, /Expenses needs a second step when you sign in/);
    assert.doesNotMatch(refused.body, /should be able to use/);
    assert.match(refused.body, /Back to Expenses/);

    const settings = new TestBrowser();
    await settings.submit(await settings.get(`${app.url}/account/security`, { headers: HOME }), { username: 'nomad', password: PASSWORD }, undefined, HOME);
    const setup = await settings.get(`${app.url}/account/security/totp`, { headers: HOME });
    assert.equal(setup.status, 403);
    assert.equal(titleOf(setup), TITLE);
    assert.equal(h1Of(setup), TITLE);
  });
});

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { graceLoginsUsed as graceLoginsOf } from '../helpers/ldap-admin.ts';
import { renderLdifTemplate, startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, parseForms, type Page } from '../helpers/browser.ts';
import { request as loginRequest, startSignIn } from '../helpers/login-request.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

/**
 * An expired (or must-change) password at an application that does not take the change: its refusal
 * page offers the change on "My security", which takes over what this sign-in proved (the account,
 * and on OpenLDAP the grace sign-in's bound connection) in this browser, instead of a second sign-in
 * there. With ppolicy's pwdGraceAuthNLimit 1 that second sign-in was refused ("the directory does not
 * let you change it yourself"): the page's own advice was a dead end. The application's own sign-in
 * still offers no change, and is not completed by the change.
 */
const BASE = 'dc=example,dc=org';
const PEOPLE = `ou=people,${BASE}`;
const pw = (uid: string): string => `Passw0rd!${uid}`;
const NEW_PASSWORD = 'Brand-new-Pw1';
const CHANGE_BUTTON = /<button type="submit">Change your password on My security<\/button>/;

const policy = (cn: string, graceLogins: number): string =>
  `dn: cn=${cn},ou=policies,${BASE}\nobjectClass: pwdPolicy\nobjectClass: device\ncn: ${cn}\npwdAttribute: userPassword\npwdMaxAge: 7776000\npwdCheckQuality: 1\npwdMinLength: 8\npwdAllowUserChange: TRUE\npwdLockout: TRUE\npwdMaxFailure: 3\npwdGraceAuthNLimit: ${graceLogins}\n`;
let uuid = 0;
const expiredUser = (uid: string, policyCn: string): string =>
  `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nentryUUID: 96ace000-0000-4000-8000-${(++uuid).toString(16).padStart(12, '0')}\nuserPassword: ${pw(uid)}\npwdChangedTime: {{now-100d}}\npwdPolicySubentry: cn=${policyCn},ou=policies,${BASE}\n`;

/** An application registered without --allow-password-change. */
const noChangeApp = () => loginRequest({ rpId: 'ledger', rpName: 'Ledger', rp: { allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } });

/** The refusal page's form that hands the change to "My security". */
function changeOnSecurityForm(page: Page) {
  return parseForms(page.body, page.url).find((form) => form.action.includes('/account/security/change-password'));
}

/** From the refusal page at the application to the page after the change, on "My security". */
async function changeThroughMySecurity(browser: TestBrowser, refusal: Page, current: string): Promise<{ form: Page; done: Page }> {
  const form = await browser.submit(refusal, {}, '/account/security/change-password');
  assert.match(form.body, /name="newPassword"/, `the change form at once, no second sign-in; got ${form.status} ${form.url}\n${form.body.slice(0, 800)}`);
  const done = await browser.submit(form, { currentPassword: current, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
  return { form, done };
}

describe('OpenLDAP grace sign-ins', () => {
  let slapd: SlapdHandle;
  let app: Booted;

  before(async () => {
    const entries = [policy('grace1', 1), expiredUser('lastgrace', 'grace1'), expiredUser('otherbrowser', 'grace1')];
    slapd = await startSlapd({ ldif: entries.map((t) => renderLdifTemplate(t)) });
    app = await boot({ directory: ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE } }) });
  });

  after(async () => {
    await app?.close();
    await slapd?.stop();
  });

  const graceLoginsUsed = (uid: string): Promise<number> => graceLoginsOf(slapd, `uid=${uid},${PEOPLE}`);

  test('the last grace sign-in, spent at an application that does not take the change: the refusal page changes it on "My security" on that bind', async () => {
    const browser = new TestBrowser();
    const { txId, page } = await startSignIn(app, browser, noChangeApp());
    const refusal = await browser.submit(page, { username: 'lastgrace', password: pw('lastgrace') });
    assert.equal(refusal.status, 403);
    assert.ok(refusal.body.includes(ERROR_CATALOGUE.PASSWORD_EXPIRED.message), refusal.body);
    assert.doesNotMatch(refusal.body, /name="newPassword"/, 'the application itself still offers no change');
    assert.match(refusal.body, CHANGE_BUTTON);
    assert.equal(await graceLoginsUsed('lastgrace'), 1, 'the sign-in spent the only grace sign-in');

    // With pwdGraceAuthNLimit 1 slapd refuses any further bind: the change can only run on the sign-in's own.
    const { done } = await changeThroughMySecurity(browser, refusal, pw('lastgrace'));
    assert.equal(new URL(done.url).pathname, '/account/security/password-changed', `got ${done.status} ${done.url}\n${done.body.slice(0, 800)}`);
    assert.match(done.body, /Your password has been changed\. Go back to Ledger and sign in again with your new password\./);
    assert.equal(app.finished.get(txId), undefined, "the application's sign-in is not completed by the change");
    assert.match(done.body, /<button type="submit">Back to Ledger<\/button>/, 'its way back, as on the refusal page');
    const [change] = (await app.services.store.audit.query({ types: ['password.change'], user: 'lastgrace' })).events;
    assert.deepEqual([change?.outcome, change?.rp], ['success', 'stepgate:account']);

    // The new password works at the application, whose sign-in starts again.
    const elsewhere = new TestBrowser();
    const again = await startSignIn(app, elsewhere, noChangeApp());
    const signedIn = await elsewhere.submit(again.page, { username: 'lastgrace', password: NEW_PASSWORD });
    assert.equal(app.finished.get(again.txId)?.ok, true, `signed in at Ledger, got ${signedIn.status} ${signedIn.url}`);
  });

  test('the change is offered only to the browser that proved the password, and only by the page\'s form (CSRF)', async () => {
    const browser = new TestBrowser();
    const { txId, page } = await startSignIn(app, browser, noChangeApp());
    const refusal = await browser.submit(page, { username: 'otherbrowser', password: pw('otherbrowser') });
    const form = changeOnSecurityForm(refusal);
    assert.ok(form, refusal.body);
    assert.equal(form.method.toUpperCase(), 'POST');

    const noToken = await browser.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, _csrf: 'forged' }) });
    assert.equal(noToken.status, 403, 'a form without this browser\'s token is refused');

    // Another browser, with its own token, naming this sign-in: a plain sign-in on "My security", no change form.
    const other = new TestBrowser();
    const otherPage = await other.get(`${app.url}/account/security`);
    const otherCsrf = parseForms(otherPage.body, otherPage.url)[0]?.fields['_csrf'];
    assert.ok(otherCsrf);
    const stranger = await other.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, _csrf: otherCsrf }) });
    assert.doesNotMatch(stranger.body, /name="newPassword"/, 'never the change form of another browser\'s sign-in');
    assert.match(stranger.body, /name="password"/);

    // Its own browser can; the form sent again (a double press, Back) goes on with the same change.
    const first = await browser.submit(refusal, {}, '/account/security/change-password');
    assert.match(first.body, /name="newPassword"/);
    const second = await browser.submit(refusal, {}, '/account/security/change-password');
    assert.equal(second.url, first.url, 'the same sign-in on "My security", not a second one');
    assert.equal(await graceLoginsUsed('otherbrowser'), 1);
    assert.equal(app.finished.get(txId), undefined);
  });
});

describe('local users', () => {
  const DAY_MS = 86_400_000;
  const LOCAL_PASSWORD = 'Correct-horse-42';
  let now = Date.parse('2026-08-01T09:00:00Z');
  let app: Booted;

  before(async () => {
    app = await boot({ directory: { kind: 'local', passwordRules: { maxAgeDays: 30 } } }, { clock: { now: () => now } });
    await addLocalUser(app.services, 'mira', LOCAL_PASSWORD, { mustChangePassword: true });
    await addLocalUser(app.services, 'omar', LOCAL_PASSWORD);
    now += 31 * DAY_MS;
  });

  after(async () => {
    await app?.close();
  });

  for (const [username, expected] of [
    ['mira', ERROR_CATALOGUE.PASSWORD_MUST_CHANGE.message],
    ['omar', ERROR_CATALOGUE.PASSWORD_EXPIRED.message],
  ] as const) {
    test(`${username === 'mira' ? 'a password that must be changed' : 'an expired password'}, at an application that does not take the change: changed on "My security" from the refusal page, as for LDAP`, async () => {
      const password = LOCAL_PASSWORD;
      const browser = new TestBrowser();
      const { txId, page } = await startSignIn(app, browser, noChangeApp());
      const refusal = await browser.submit(page, { username, password });
      assert.equal(refusal.status, 403);
      assert.ok(refusal.body.includes(expected), refusal.body);
      assert.doesNotMatch(refusal.body, /name="newPassword"/);
      assert.match(refusal.body, CHANGE_BUTTON);
      const { done } = await changeThroughMySecurity(browser, refusal, password);
      assert.equal(new URL(done.url).pathname, '/account/security/password-changed', `got ${done.status} ${done.url}`);
      assert.match(done.body, /Go back to Ledger and sign in again with your new password\./);
      assert.equal(app.finished.get(txId), undefined);
    });
  }

  test('a user with an authenticator app is asked its code after the change, as "My security"\'s own sign-in asks it (policies.account)', async () => {
    const id = await addLocalUser(app.services, 'tess', LOCAL_PASSWORD, { mustChangePassword: true });
    const user = (await app.services.directory.findUserById(id))!;
    const { enrollment } = app.services.mfa.totp;
    const view = await enrollment.begin({ user, sessionId: 'set-up-elsewhere' });
    assert.ok((await enrollment.finish({ user, sessionId: 'set-up-elsewhere', ip: '127.0.0.1' }, oathtoolTotp(view.secret, now))).ok);
    now += 60_000; // the setup's code is used: the sign-in's is the next one

    const browser = new TestBrowser();
    const { page } = await startSignIn(app, browser, noChangeApp());
    const refusal = await browser.submit(page, { username: 'tess', password: LOCAL_PASSWORD });
    const { done: codePage } = await changeThroughMySecurity(browser, refusal, LOCAL_PASSWORD);
    assert.match(codePage.body, /Enter your code/, `the second factor before anything of "My security"; got ${codePage.status} ${codePage.url}`);
    const denied = await browser.get(`${app.url}/account/security/password-changed`);
    assert.doesNotMatch(denied.body, /Your password has been changed/, 'not granted before the code');
    const done = await browser.submit(codePage, { code: oathtoolTotp(view.secret, now) });
    assert.equal(new URL(done.url).pathname, '/account/security/password-changed', `got ${done.status} ${done.url}`);
    assert.match(done.body, /Go back to Ledger and sign in again with your new password\./);
  });

  test('only a password to change is handed over: the refusal of a disabled account offers nothing, and its sign-in id sent anyway leads to the ordinary sign-in', async () => {
    await addLocalUser(app.services, 'dina', LOCAL_PASSWORD, { disabled: true });
    const browser = new TestBrowser();
    const { txId, page } = await startSignIn(app, browser, noChangeApp());
    const refusal = await browser.submit(page, { username: 'dina', password: LOCAL_PASSWORD });
    assert.ok(refusal.body.includes(ERROR_CATALOGUE.ACCOUNT_DISABLED.message), refusal.body);
    assert.doesNotMatch(refusal.body, CHANGE_BUTTON);
    const csrf = parseForms(refusal.body, refusal.url).find((form) => form.fields['_csrf'])?.fields['_csrf'];
    assert.ok(csrf, refusal.body);
    const sent = await browser.request(`${app.url}/account/security/change-password`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, signIn: txId }) });
    assert.doesNotMatch(sent.body, /name="newPassword"/);
    assert.match(sent.body, /name="password"/);
  });

  test('the change is handed over for 10 minutes: pressed later, the button leads to the ordinary sign-in on "My security"', async () => {
    await addLocalUser(app.services, 'lena', LOCAL_PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const { page } = await startSignIn(app, browser, noChangeApp());
    const refusal = await browser.submit(page, { username: 'lena', password: LOCAL_PASSWORD });
    assert.match(refusal.body, CHANGE_BUTTON);
    now += 10 * 60_000 + 1_000;
    const late = await browser.submit(refusal, {}, '/account/security/change-password');
    assert.doesNotMatch(late.body, /name="newPassword"/, 'no change form without a sign-in');
    assert.match(late.body, /name="password"/);
  });
});

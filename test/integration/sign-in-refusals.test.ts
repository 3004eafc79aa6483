import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import type { LoginRequest } from '../../src/core/types.ts';
import { pastBackupCodeNotice } from '../helpers/backup-code-notice.ts';
import { RECENT_PASSWORD_SECONDS } from '../../src/mfa/recent-password.ts';

const PASSWORD = 'Correct-horse-42';
const DAY = 24 * 60 * 60 * 1000;
const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
let now = Date.parse('2026-11-22T10:00:00Z');
const clock = { now: () => now };

describe('refused forms of a sign-in: Post/Redirect/Get, a way back, plain words', () => {
  let app: Booted;

  before(async () => {
    app = await boot({ directory: { kind: 'local', passwordRules: { maxAgeDays: 90, expiryWarningDays: 14 } } }, { clock });
  });
  after(() => app?.close());

  async function open(browser: TestBrowser, overrides: Partial<LoginRequest> = {}) {
    const tx = await app.services.interaction.deps.transactions.create(request({ rpName: 'Payroll', handoff: { finisher: TEST_FINISHER, ref: '' }, ...overrides }));
    return { tx, page: await browser.get(`${app.url}/login/${tx.id}`) };
  }

  /** The form of `page` (whose action contains `match`) sent without following the answer, as a browser's POST. */
  async function post(browser: TestBrowser, page: Page, values: Record<string, string>, match?: string): Promise<Page> {
    const action = /<form method="post" action="([^"]+)"/g;
    const actions = [...page.body.matchAll(action)].map((found) => found[1]!.replace(/&#x2F;/g, '/'));
    const target = actions.find((candidate) => !match || candidate.includes(match));
    assert.ok(target, `a form${match ? ` for ${match}` : ''} on ${page.url}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    return browser.request(new URL(target, app.url).toString(), { method: 'POST', body: new URLSearchParams({ _csrf: csrf, ...values }), followRedirects: false });
  }

  const passwordEvents = async (username: string) => (await app.services.store.audit.query({ types: ['login.password'], user: username })).events;

  test('a wrong password is answered with a redirect to the page, which shows the error once and keeps the name, never the password', async () => {
    await addLocalUser(app.services, 'wrongpw', PASSWORD);
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const answer = await post(browser, page, { username: 'wrongpw', password: 'not-the-password-1' });
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.get('location'), `/login/${tx.id}`);

    const shown = await browser.get(`${app.url}/login/${tx.id}`);
    assert.equal(shown.status, 401);
    assert.match(shown.body, /Invalid username or password\./);
    assert.match(shown.body, /value="wrongpw"/);
    assert.doesNotMatch(shown.body, /not-the-password-1/);

    const reloaded = await browser.get(`${app.url}/login/${tx.id}`);
    assert.equal(reloaded.status, 200, 'Reload is a GET of the page: the form is not sent again');
    assert.doesNotMatch(reloaded.body, /Invalid username or password/);
    assert.equal((await passwordEvents('wrongpw')).length, 1, 'one audit event, for the one POST');
  });

  test('Reload after a refused password keeps the typed name (never the password), with the focus in the password field; the error is shown once', async () => {
    await addLocalUser(app.services, 'reloader', PASSWORD);
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    await browser.submit(page, { username: 'reloader', password: 'not-the-password-2' });
    for (const reload of [1, 2]) {
      const reloaded = await browser.get(`${app.url}/login/${tx.id}`);
      assert.equal(reloaded.status, 200, `reload ${reload}`);
      assert.doesNotMatch(reloaded.body, /Invalid username or password/, 'the refusal is shown once');
      assert.match(reloaded.body, /<input id="field-username" name="username" type="text" value="reloader"/, `reload ${reload} keeps the name`);
      assert.match(reloaded.body, /<input id="field-password"[^>]* autofocus>/, 'the password is what is left to type');
      assert.doesNotMatch(reloaded.body, /not-the-password-2/);
    }
  });

  test('after the password was right, the name typed in an earlier refusal is not filled in again (the next person at a shared browser)', async () => {
    await addLocalUser(app.services, 'firstuser', PASSWORD);
    const browser = new TestBrowser();
    const { tx, page } = await open(browser, { rpName: 'Vault', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false } });
    const refused = await browser.submit(page, { username: 'firstuser', password: 'not-the-password-3' });
    const setup = await browser.submit(refused, { username: 'firstuser', password: PASSWORD });
    assert.match(setup.body, /Set up your authenticator app/);
    const passwordAgain = await browser.submit(setup, {}, '/switch-account');
    assert.equal(new URL(passwordAgain.url).pathname, `/login/${tx.id}`);
    assert.match(passwordAgain.body, /<input id="field-username" name="username" type="text" value=""/);
  });

  test('after the password was right (the expiry warning shown) and a sign-out in another tab, the name typed in an earlier refusal is not filled in again', async () => {
    now -= 80 * DAY;
    await addLocalUser(app.services, 'expiring', PASSWORD);
    now += 80 * DAY;
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const refused = await browser.submit(page, { username: 'expiring', password: 'not-the-password-5' });
    const warning = await browser.submit(refused, { username: 'expiring', password: PASSWORD });
    assert.match(warning.body, /expires in 10 days/);
    await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
    const passwordPage = await browser.submit(warning, {}, '/continue');
    assert.match(passwordPage.body, /You were signed out/);
    const reloaded = await browser.get(`${app.url}/login/${tx.id}`);
    assert.match(reloaded.body, /<input id="field-username" name="username" type="text" value=""/);
  });

  test('a sign-in that went on as someone who signed in in another tab fills in no name typed before it, after "Not you?"', async () => {
    await addLocalUser(app.services, 'tabsigner', PASSWORD);
    const browser = new TestBrowser();
    const { tx, page } = await open(browser, { rpName: 'Vault', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false } });
    await browser.submit(page, { username: 'someone-else', password: 'not-the-password-6' });
    await browser.submit((await open(browser)).page, { username: 'tabsigner', password: PASSWORD });
    const setup = await browser.get(`${app.url}/login/${tx.id}`);
    assert.match(setup.body, /Set up your authenticator app/);
    const next = await browser.submit(setup, {}, '/switch-account');
    assert.match(next.body, /<input id="field-username" name="username" type="text" value=""/);
  });

  test('signed out and signed in again in another tab: the page asking the password again before the setup says nothing of being signed out', async () => {
    await addLocalUser(app.services, 'backagain', PASSWORD);
    const browser = new TestBrowser();
    const { tx, page } = await open(browser, { rpName: 'Vault', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false } });
    assert.match((await browser.submit(page, { username: 'backagain', password: PASSWORD })).body, /Set up your authenticator app/);
    await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
    await browser.submit((await open(browser)).page, { username: 'backagain', password: PASSWORD });
    now += (RECENT_PASSWORD_SECONDS + 1) * 1000;
    const asked = await browser.get(`${app.url}/login/${tx.id}`);
    assert.match(asked.body, /Enter your password again/);
    assert.doesNotMatch(asked.body, /You were signed out/);
  });

  test('an account refusal leaves no name for the password page after it, nor the one typed before it', async () => {
    await addLocalUser(app.services, 'disabledtwo', PASSWORD, { disabled: true });
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const refused = await browser.submit(page, { username: 'typo-name', password: 'not-the-password-7' });
    const account = await browser.submit(refused, { username: 'disabledtwo', password: PASSWORD });
    assert.match(account.body, /Account disabled/);
    const again = await browser.get(`${app.url}/login/${tx.id}`);
    assert.match(again.body, /<input id="field-username" name="username" type="text" value=""/);
  });

  test("a wrong password on the page asking the signed-in user's password again leaves their name to no one after them", async () => {
    await addLocalUser(app.services, 'askedagain', PASSWORD);
    const browser = new TestBrowser();
    await browser.submit((await open(browser, { rp: { policy: 'permit-everyone', allowPasswordChange: false } })).page, { username: 'askedagain', password: PASSWORD });
    now += (RECENT_PASSWORD_SECONDS + 1) * 1000;
    const { tx, page } = await open(browser, { rpName: 'Vault', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false } });
    assert.match(page.body, /Enter your password again/);
    const refused = await browser.submit(page, { password: 'not-the-password-4' });
    assert.equal(refused.status, 401);
    // "Not you?": the password page is for whoever is at the browser now; the name was the page's, never typed.
    const next = await browser.submit(refused, {}, '/switch-account');
    assert.equal(new URL(next.url).pathname, `/login/${tx.id}`);
    assert.match(next.body, /<input id="field-username" name="username" type="text" value=""/);
    assert.doesNotMatch(next.body, /askedagain/);
  });

  test('the lock is shown on the page the refused form redirects to', async () => {
    await addLocalUser(app.services, 'lockedout', PASSWORD);
    const browser = new TestBrowser();
    const { page } = await open(browser);
    for (let i = 0; i < 5; i++) await post(browser, page, { username: 'lockedout', password: `wrong-${i}-password` });
    const answer = await post(browser, page, { username: 'lockedout', password: PASSWORD });
    assert.equal(answer.status, 303);
    const shown = await browser.get(new URL(answer.headers.get('location')!, app.url).toString());
    assert.equal(shown.status, 429);
    assert.match(shown.body, /Too many failed attempts\. Try again in \d+ minutes?\./);
  });

  test('a disabled account gets a page with "Back to <app>", which tells the application (as Cancel)', async () => {
    await addLocalUser(app.services, 'disabledone', PASSWORD, { disabled: true });
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const answer = await post(browser, page, { username: 'disabledone', password: PASSWORD });
    assert.equal(answer.status, 303, 'not a page in the POST answer, which Reload would send again');
    const refusal = await browser.get(new URL(answer.headers.get('location')!, app.url).toString());
    assert.equal(refusal.status, 403);
    assert.match(refusal.body, /Account disabled/);
    assert.match(refusal.body, /Your account is disabled\. Contact your helpdesk\./);
    assert.match(refusal.body, /Back to Payroll/);
    await browser.submit(refusal, {}, '/cancel');
    const result = app.finished.get(tx.id);
    assert.ok(result && !result.ok && result.error === 'cancelled', JSON.stringify(result));
  });

  test('a must-change account where the application allows no change gets the way back too', async () => {
    await addLocalUser(app.services, 'mustchange', PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const { page } = await open(browser, { rp: { allowPasswordChange: false } });
    const refusal = await browser.submit(page, { username: 'mustchange', password: PASSWORD });
    assert.equal(refusal.status, 403);
    assert.match(refusal.body, /This application does not allow changing it here/);
    assert.match(refusal.body, /<button type="submit">Back to Payroll<\/button>/);
  });

  test('the change-password form: a refusal redirects to it; the account is named for password managers and the error belongs to the fields', async () => {
    await addLocalUser(app.services, 'changer', PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const changePage = await browser.submit(page, { username: 'changer', password: PASSWORD });
    assert.match(changePage.body, /<input type="hidden" name="username" value="changer" autocomplete="username">/);
    assert.doesNotMatch(changePage.body, /aria-invalid/);

    const answer = await post(browser, changePage, { currentPassword: PASSWORD, newPassword: 'Another-pass-77', confirmPassword: 'Different-pass-77' });
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.get('location'), `/login/${tx.id}/change-password`);
    const shown = await browser.get(`${app.url}/login/${tx.id}/change-password`);
    assert.equal(shown.status, 400);
    assert.match(shown.body, /The two new passwords are not the same\./);
    assert.match(shown.body, /id="field-newPassword"[^>]* aria-invalid="true" aria-describedby="form-error[ "]/);
    assert.doesNotMatch(shown.body, /id="field-currentPassword"[^>]* aria-invalid/, 'the current password was right');
    assert.match(shown.body, /id="form-error"/);
    assert.doesNotMatch((await browser.get(`${app.url}/login/${tx.id}/change-password`)).body, /not the same/, 'shown once');
  });

  test('a user disabled while on the change-password form gets an error page with "Back to <app>"', async () => {
    await addLocalUser(app.services, 'disabledlater', PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const changePage = await browser.submit(page, { username: 'disabledlater', password: PASSWORD });
    await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).update('disabledlater', { disabled: true });
    const refused = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: 'Another-pass-77', confirmPassword: 'Another-pass-77' });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /Your account is disabled/);
    await browser.submit(refused, {}, '/cancel');
    assert.equal(app.finished.get(tx.id)?.ok, false);
  });

  describe('the code page', () => {
    const mfaApp = { rpName: 'Vault', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false } };

    async function toCodePage(username: string) {
      const userId = await addLocalUser(app.services, username, PASSWORD);
      await app.services.mfa.enrollments.put(userId, username, SECRET, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, now);
      const browser = new TestBrowser();
      const { tx, page } = await open(browser, mfaApp);
      const codePage = await browser.submit(page, { username, password: PASSWORD });
      assert.match(codePage.body, /Enter your code/);
      return { browser, tx, codePage, userId };
    }

    test('a wrong code is answered with a redirect; the code page shows the problem once', async () => {
      const { browser, tx, codePage } = await toCodePage('wrongcode');
      const answer = await post(browser, codePage, { code: '000000' === oathtoolTotp(SECRET, now) ? '111111' : '000000' });
      assert.equal(answer.status, 303);
      assert.equal(answer.headers.get('location'), `/login/${tx.id}`);
      const shown = await browser.get(`${app.url}/login/${tx.id}`);
      assert.equal(shown.status, 401);
      assert.match(shown.body, /That code is not correct\./);
      const reloaded = await browser.get(`${app.url}/login/${tx.id}`);
      assert.equal(reloaded.status, 200);
      assert.doesNotMatch(reloaded.body, /not correct/);
    });

    test('a spent backup code is told as such', async () => {
      const { browser, codePage, userId } = await toCodePage('spentcode');
      const [code] = (await app.services.mfa.backupCodes.regenerate(userId, 2, now)) as [string];
      assert.match((await pastBackupCodeNotice(browser, await browser.submit(codePage, { code }))).url, /\/resume\?tx=/, 'the backup code signs in once');

      const second = new TestBrowser();
      const { page } = await open(second, mfaApp);
      const again = await second.submit(await second.submit(page, { username: 'spentcode', password: PASSWORD }), { code });
      assert.equal(again.status, 401);
      assert.match(again.body, /That backup code was already used\./);
    });
  });

  test('the access-denied page names the application and whom to ask, once, even without messages.helpdesk', async () => {
    await addLocalUser(app.services, 'outsider', PASSWORD);
    const browser = new TestBrowser();
    const { page } = await open(browser, { rp: { policy: 'deny-everyone', allowPasswordChange: false } });
    const denied = await browser.submit(page, { username: 'outsider', password: PASSWORD });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /You are not allowed to use Payroll\. If you need it, ask your helpdesk for access\./);
    assert.equal(denied.body.match(/helpdesk/g)?.length, 1, 'the helpdesk advice is given once');
  });

  test('an administrator\'s refusal that names no one to ask gets the helpdesk line', async () => {
    await addLocalUser(app.services, 'offsite', PASSWORD);
    await app.services.policies.save({ name: 'office-only-words', rules: [{ then: { effect: 'deny', message: 'Only from the office.' } }] });
    const browser = new TestBrowser();
    const { page } = await open(browser, { rp: { policy: 'office-only-words', allowPasswordChange: false } });
    const denied = await browser.submit(page, { username: 'offsite', password: PASSWORD });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /Only from the office\.[\s\S]*If you think you should be able to use Payroll, contact your helpdesk\./);
  });

  test('while the code entry is locked, the page says backup codes are locked too', async () => {
    const userId = await addLocalUser(app.services, 'codelocked', PASSWORD);
    await app.services.mfa.enrollments.put(userId, 'codelocked', SECRET, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, now);
    const browser = new TestBrowser();
    const { page } = await open(browser, { rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false } });
    let codePage = await browser.submit(page, { username: 'codelocked', password: PASSWORD });
    const wrong = oathtoolTotp(SECRET, now) === '000000' ? '111111' : '000000';
    for (let i = 0; i < 10 && !/blocked for your account/.test(codePage.body); i++) codePage = await browser.submit(codePage, { code: wrong });
    assert.equal(codePage.status, 429);
    assert.match(codePage.body, /Backup codes are blocked too\./);
  });

  describe('a browser that keeps no cookies', () => {
    test('the first page of a sign-in opened with the binding cookie, arriving without it, says cookies are blocked', async () => {
      const tx = await app.services.interaction.deps.transactions.create(request({ rpName: 'Payroll', handoff: { finisher: TEST_FINISHER, ref: '' } }), 'binding-set-by-the-request-that-opened-it');
      const page = await new TestBrowser().get(`${app.url}/login/${tx.id}`);
      assert.equal(page.status, 403);
      assert.match(page.body, /Cookies needed/);
      assert.match(page.body, new RegExp(`Your browser did not send this site(?:'|&#39;)s cookies \\(they may be blocked, or were cleared\\)\\. Allow cookies for ${new URL(app.url).host.replace(/\./g, '\\.')}, then start again`));
      assert.doesNotMatch(page.body, /reload/i);
    });

    test('a form sent without the binding cookie says cookies are blocked, not "reload the page"', async () => {
      await addLocalUser(app.services, 'nocookies', PASSWORD);
      const browser = new TestBrowser();
      const { page } = await open(browser);
      browser.cookies.clear();
      const answer = await browser.submit(page, { username: 'nocookies', password: PASSWORD });
      assert.equal(answer.status, 403);
      assert.match(answer.body, /Your browser did not send this site(?:'|&#39;)s cookies .*Allow cookies for/);
      assert.doesNotMatch(answer.body, /reload the page/);
    });

    test('a form sent with cookies but not the binding one (lost, or sent twice with a planted copy) is a failed form protection, not "cookies are blocked"', async () => {
      const browser = new TestBrowser();
      const { page } = await open(browser);
      browser.cookies.clear();
      const answer = await browser.submit(page, { username: 'nocookies', password: PASSWORD }, undefined, { cookie: 'other=1' });
      assert.equal(answer.status, 403);
      assert.match(answer.body, /Your form expired or was sent from another site/);
      assert.doesNotMatch(answer.body, /did not send this site(?:'|&#39;)s cookies/);
    });
  });
});

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createUser, isPasswordPage } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import type { LoginRequest, User } from '../../src/core/types.ts';
import { pastBackupCodeNotice } from '../helpers/backup-code-notice.ts';

const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
const nextTimeStep = () => void (now += 30_000);
let app: Booted;

function request(policy: string): LoginRequest {
  return { protocol: 'oidc', rpId: `app-${policy}`, rpName: 'Test App', rp: { policy, allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false };
}

async function open(browser: TestBrowser, policy = 'permit-everyone-require-mfa') {
  const tx = await app.services.interaction.deps.transactions.create(request(policy));
  return { tx, page: await browser.get(`${app.url}/login/${tx.id}`) };
}

const resultOf = async (id: string) => app.finished.get(id);
const csrfOf = (page: Page) => /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;

/** Posts a form field set straight to a URL with this browser's cookies (what a forged or replayed form does); redirects not followed. */
function post(browser: TestBrowser, path: string, fields: Record<string, string>): Promise<Page> {
  return browser.request(`${app.url}${path}`, { method: 'POST', body: new URLSearchParams(fields), followRedirects: false });
}

/** An answer that was not taken: the browser is sent to the transaction's current step (303 to /login/<tx>), nothing else. */
function assertSentToCurrentStep(page: Page, txId: string, message?: string): void {
  assert.equal(page.status, 303, message);
  assert.equal(new URL(page.headers.get('location')!, page.url).pathname, `/login/${txId}`, message);
}

/** A user with TOTP already set up (through the method itself, with an oathtool code). */
async function enrolledUser(username: string): Promise<{ user: User; secret: string; backupCodes: string[] }> {
  const id = await createUser(app, { username, password: PASSWORD, groups: ['staff'] });
  const user = (await app.services.directory.findUserById(id))!;
  const { totp } = app.services.mfa;
  const view = await totp.enrollment.begin({ user, sessionId: 'enrolled-elsewhere' });
  const done = await totp.enrollment.finish({ user, sessionId: 'enrolled-elsewhere', ip: '127.0.0.1' }, oathtoolTotp(view.secret, now));
  assert.ok(done.ok);
  return { user, secret: view.secret, backupCodes: done.backupCodes };
}

async function atCodePage(browser: TestBrowser, username: string) {
  const { tx, page } = await open(browser);
  const codePage = await browser.submit(page, { username, password: PASSWORD });
  assert.match(codePage.body, /Enter your code/);
  return { tx, codePage };
}

async function sessionFactors(browser: TestBrowser): Promise<string[]> {
  const id = /sg_session=([^;]+)/.exec(browser.cookieHeader(app.url))?.[1];
  return (await app.services.sessions.byId(id ?? ''))?.factors.map((factor) => factor.method) ?? [];
}

before(async () => {
  app = await boot({ mfa: { totp: { maxFailures: 3, autoUnlockMinutes: 15 } } }, { clock });
});
after(() => app?.close());

describe('no MFA bypass through step ordering', () => {
  test('a code posted to another interaction, one that never showed the step, or one of another browser is refused', async () => {
    const { secret } = await enrolledUser('alice');
    const browser = new TestBrowser();
    const { tx: mfaTx, codePage } = await atCodePage(browser, 'alice');
    nextTimeStep();
    const code = oathtoolTotp(secret, now);

    const { tx: passwordOnly } = await open(browser, 'permit-everyone');
    assert.equal((await resultOf(passwordOnly.id))?.ok, true, 'a password-only app completed silently');
    const otherTx = await post(browser, `/login/${passwordOnly.id}/mfa/totp`, { _csrf: csrfOf(codePage), code });
    assertSentToCurrentStep(otherTx, passwordOnly.id, 'its transaction is finished: sent to its page, which says so');
    assert.match((await browser.get(`${app.url}/login/${passwordOnly.id}`)).body, /<h1>You are signed in<\/h1>/);

    const fresh = await app.services.interaction.deps.transactions.create(request('permit-everyone-require-mfa'));
    const neverShown = await post(browser, `/login/${fresh.id}/mfa/totp`, { _csrf: csrfOf(codePage), code });
    assertSentToCurrentStep(neverShown, fresh.id);
    assert.equal(await resultOf(fresh.id), undefined);

    const thief = new TestBrowser();
    const { page: thiefPage } = await open(thief);
    const stolen = await post(thief, `/login/${mfaTx.id}/mfa/totp`, { _csrf: csrfOf(thiefPage), code });
    assert.equal(stolen.status, 400, 'bound to the first browser');

    const enrollInstead = await post(browser, `/login/${mfaTx.id}/mfa/totp/enroll`, { _csrf: csrfOf(codePage), code });
    assertSentToCurrentStep(enrollInstead, mfaTx.id, 'the enrollment step is not due for an enrolled user');
    const unknownMethod = await post(browser, `/login/${mfaTx.id}/mfa/push`, { _csrf: csrfOf(codePage), code });
    assertSentToCurrentStep(unknownMethod, mfaTx.id);

    assert.deepEqual(await sessionFactors(browser), ['pwd'], 'none of this added a factor');
    const done = await browser.submit(codePage, { code });
    assert.match(done.url, /\/resume\?tx=/);
    const result = await resultOf(mfaTx.id);
    assert.ok(result?.ok && result.amr.includes('mfa'));
  });

  test('an interaction cannot be finished after logout, nor by the next user of the browser', async () => {
    const { secret } = await enrolledUser('bruno');
    const { secret: otherSecret } = await enrolledUser('clara');
    const browser = new TestBrowser();
    const { tx, codePage } = await atCodePage(browser, 'bruno');
    const logoutPage = await browser.get(`${app.url}/logout`);
    await browser.submit(logoutPage);
    nextTimeStep();
    const afterLogout = await post(browser, `/login/${tx.id}/mfa/totp`, { _csrf: csrfOf(codePage), code: oathtoolTotp(secret, now) });
    assertSentToCurrentStep(afterLogout, tx.id);
    assert.equal(await resultOf(tx.id), undefined);
    assert.ok(isPasswordPage(await browser.get(`${app.url}/login/${tx.id}`)), 'signed out: the sign-in asks for the password again');

    await atCodePage(browser, 'clara'); // clara signs in with her password in the same browser
    nextTimeStep();
    const asClara = await post(browser, `/login/${tx.id}/mfa/totp`, { _csrf: csrfOf(codePage), code: oathtoolTotp(otherSecret, now) });
    // The interaction was shown for the session of bruno only: not taken, and not carried on as clara unasked.
    assert.equal(asClara.status, 303, 'answered with a redirect to the page that says so (Post/Redirect/Get)');
    const toldOtherUser = await browser.get(new URL(asClara.headers.get('location')!, app.url).toString());
    assert.equal(toldOtherUser.status, 409);
    assert.match(toldOtherUser.body, /Someone else signed in/);
    assert.equal(await resultOf(tx.id), undefined);
    assert.deepEqual(await sessionFactors(browser), ['pwd']);

    const reopened = await browser.get(`${app.url}/login/${tx.id}`);
    assert.match(reopened.body, /Enter your code/, 'showing the step again binds it to the current session');
  });

  test('a code for the step shown to an earlier session is not taken once the same user signed in again in this browser', async () => {
    const { secret } = await enrolledUser('gwen');
    const browser = new TestBrowser();
    const { tx, codePage } = await atCodePage(browser, 'gwen');
    // Another application asks for a new sign-in: gwen types her password again, which starts a new SSO session.
    const again = await app.services.interaction.deps.transactions.create({ ...request('permit-everyone'), forceAuthn: true });
    const passwordPage = await browser.get(`${app.url}/login/${again.id}`);
    assert.ok(isPasswordPage(passwordPage));
    await browser.submit(passwordPage, { username: 'gwen', password: PASSWORD });
    assert.equal((await resultOf(again.id))?.ok, true);
    nextTimeStep();
    const late = await post(browser, `/login/${tx.id}/mfa/totp`, { _csrf: csrfOf(codePage), code: oathtoolTotp(secret, now) });
    assertSentToCurrentStep(late, tx.id, 'the step was shown to the session before');
    assert.equal(await resultOf(tx.id), undefined);
    assert.deepEqual(await sessionFactors(browser), ['pwd'], 'the new session got no second factor from it');
  });

  test('a code posted to the code step while the setup step is due is not checked', async () => {
    await createUser(app, { username: 'hugo', password: PASSWORD, groups: ['staff'] });
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const setupPage = await browser.submit(page, { username: 'hugo', password: PASSWORD });
    assert.match(setupPage.body, /Set up your authenticator app/);
    const wrongStep = await post(browser, `/login/${tx.id}/mfa/totp`, { _csrf: csrfOf(setupPage), code: '123456' });
    assertSentToCurrentStep(wrongStep, tx.id);
    const { events } = await app.services.store.audit.query({ types: ['login.mfa'], user: 'hugo' });
    assert.deepEqual(events, [], 'no code was checked, so none was audited');
  });

  test('a finished sign-in opened in another browser tells that browser nothing of it', async () => {
    await createUser(app, { username: 'ivan', password: PASSWORD, groups: ['staff'] });
    const browser = new TestBrowser();
    const { tx, page } = await open(browser, 'permit-everyone');
    await browser.submit(page, { username: 'ivan', password: PASSWORD });
    assert.equal((await resultOf(tx.id))?.ok, true);
    const other = new TestBrowser();
    await open(other); // a sign-in of its own: this browser has a binding cookie too
    const elsewhere = await other.get(`${app.url}/login/${tx.id}`);
    assert.equal(elsewhere.status, 400);
    assert.doesNotMatch(elsewhere.body, /signed in|finished|Test App|ivan/, 'neither that it finished, nor for which application or whom');
    assert.match((await browser.get(`${app.url}/login/${tx.id}`)).body, /Your sign-in to Test App is complete/, 'its own browser is told');
  });

  test('the code step cannot be reached before the password', async () => {
    const { secret } = await enrolledUser('dave');
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    nextTimeStep();
    const skipped = await post(browser, `/login/${tx.id}/mfa/totp`, { _csrf: csrfOf(page), code: oathtoolTotp(secret, now) });
    assertSentToCurrentStep(skipped, tx.id);
    assert.equal(await resultOf(tx.id), undefined);
    assert.ok(isPasswordPage(await browser.get(`${app.url}/login/${tx.id}`)), 'the password comes first');
  });
});

describe('lockout and backup codes in the browser', () => {
  test('three wrong codes lock with a plain-words end time; the lock lifts after 15 minutes', async () => {
    const { secret } = await enrolledUser('erin');
    const browser = new TestBrowser();
    let { codePage } = await atCodePage(browser, 'erin');
    nextTimeStep();
    const wrong = oathtoolTotp(secret, now) === '123456' ? '654321' : '123456';
    for (let attempt = 1; attempt <= 2; attempt++) {
      codePage = await browser.submit(codePage, { code: wrong });
      assert.equal(codePage.status, 401);
      assert.match(codePage.body, /That code is not correct/);
    }
    const locked = await browser.submit(codePage, { code: wrong });
    assert.equal(locked.status, 429);
    const until = new Date(Math.ceil((now + 15 * 60_000) / 60_000) * 60_000).toISOString().slice(11, 16);
    assert.match(locked.body, new RegExp(`blocked for your account for 15 minutes \\(until ${until} UTC\\)`));
    assert.doesNotMatch(locked.body, /name="code"/, 'no form while locked');
    const malformed = await browser.submit(codePage, { code: 'abc' });
    assert.equal(malformed.status, 429, 'even a malformed code sees the lock');
    const { events } = await app.services.store.audit.query({ types: ['login.mfa'], user: 'erin' });
    assert.deepEqual(
      events.map((event) => [event.reason, event.lockStarted, event.lockedUntil, event.lockCount]),
      [
        ['invalid', undefined, undefined, undefined],
        ['invalid', undefined, undefined, undefined],
        ['locked', ['method'], new Date(now + 15 * 60_000).toISOString(), 1],
        ['locked', undefined, undefined, undefined],
      ],
      'the audit tells the wrong code that started the lock, and when it lifts, from the refusals during it',
    );

    now += 15 * 60_000;
    const later = new TestBrowser();
    const { codePage: again } = await atCodePage(later, 'erin');
    nextTimeStep();
    const done = await later.submit(again, { code: oathtoolTotp(secret, now) });
    assert.match(done.url, /\/resume\?tx=/);
  });

  test('wrong-length and non-numeric codes get a clear message and do not lock', async () => {
    await enrolledUser('fred');
    const browser = new TestBrowser();
    let { codePage } = await atCodePage(browser, 'fred');
    for (const code of ['12345', '1234567', 'abcdef', '']) {
      codePage = await browser.submit(codePage, { code });
      assert.equal(codePage.status, 400, code);
      assert.match(codePage.body, /Enter the 6-digit code from your authenticator app, or one of your backup codes\./);
    }
  });

  test('a backup code signs in once, and the count goes down', async () => {
    const { backupCodes, user } = await enrolledUser('gina');
    const browser = new TestBrowser();
    const { codePage } = await atCodePage(browser, 'gina');
    assert.match(codePage.body, /backup codes instead \(10 left\)/);
    const done = await pastBackupCodeNotice(browser, await browser.submit(codePage, { code: backupCodes[0]! }));
    assert.match(done.url, /\/resume\?tx=/);
    const second = new TestBrowser();
    const { codePage: again } = await atCodePage(second, 'gina');
    assert.match(again.body, /\(9 left\)/);
    const reused = await second.submit(again, { code: backupCodes[0]! });
    assert.equal(reused.status, 401);
    assert.equal((await app.services.mfa.totpAdmin.statusOf(user)).backupCodesLeft, 9);
  });
});

describe('"my security" page', () => {
  test('sign in, set up TOTP, see the count, regenerate backup codes; once enrolled the page needs the code', async () => {
    await createUser(app, { username: 'hana', password: PASSWORD });
    const browser = new TestBrowser();
    const login = await browser.get(`${app.url}/account/security`);
    assert.match(login.body, /name="password"/);
    const home = await browser.submit(login, { username: 'hana', password: PASSWORD });
    assert.match(home.body, /<dd id="totp-status">Not set up<\/dd>/);
    const setup = await browser.get(`${app.url}/account/security/totp`);
    const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(setup.body)![1]!.replace(/ /g, '');
    const wrong = await browser.submit(setup, { code: 'abcdef' });
    assert.match(wrong.body, /Enter the 6-digit code from your authenticator app\./);
    nextTimeStep();
    const codes = await browser.submit(wrong, { code: oathtoolTotp(secret, now) });
    const first = [...codes.body.matchAll(/<li><code>([a-z2-7-]+)<\/code>/g)].map((match) => match[1]!);
    assert.equal(first.length, 10);
    const active = await browser.get(`${app.url}/account/security`);
    assert.match(active.body, /<dd id="totp-status">Active<\/dd>/);
    assert.match(active.body, /<dd id="backup-codes-left">10<\/dd>/);
    assert.match(active.body, /Last successful code<\/dt><dd>[^<]+ from 127\.0\.0\.1/);
    assert.match(active.body, /href="\/account\/security\/backup-codes\/new"/);
    const asked = await browser.get(`${app.url}/account/security/backup-codes/new`);
    const regenerated = await browser.submit(asked, {}, '/backup-codes');
    const second = [...regenerated.body.matchAll(/<li><code>([a-z2-7-]+)<\/code>/g)].map((match) => match[1]!);
    assert.equal(second.length, 10);
    assert.equal(second.some((code) => first.includes(code)), false);
    // A reload of the page showing them shows the same set; it does not make (and void) another.
    assert.equal(regenerated.url, `${app.url}/account/security/backup-codes`, 'shown by a GET after the POST');
    const reloaded = await browser.get(regenerated.url);
    assert.deepEqual([...reloaded.body.matchAll(/<li><code>([a-z2-7-]+)<\/code>/g)].map((match) => match[1]!), second);
    const { events } = await app.services.store.audit.query({ types: ['mfa.backup-codes.regenerate'], limit: 50 });
    assert.equal(events.filter((event) => event.username === 'hana').length, 1);

    const otherBrowser = new TestBrowser();
    const again = await otherBrowser.get(`${app.url}/account/security`);
    const codePage = await otherBrowser.submit(again, { username: 'hana', password: PASSWORD });
    assert.match(codePage.body, /Enter your code/, 'an enrolled user needs the second factor for this page');
    const oldCode = await otherBrowser.submit(codePage, { code: first[0]! });
    assert.equal(oldCode.status, 401, 'regenerated: the old codes are gone');
    const page = await pastBackupCodeNotice(otherBrowser, await otherBrowser.submit(oldCode, { code: second[0]! }));
    assert.match(page.body, /<dd id="backup-codes-left">9<\/dd>/);
  });
  test('a grant given before the user had a second factor does not cover it: once one is set up elsewhere, the page asks for the code', async () => {
    const id = await createUser(app, { username: 'kai', password: PASSWORD });
    const browser = new TestBrowser();
    const login = await browser.get(`${app.url}/account/security`);
    assert.match((await browser.submit(login, { username: 'kai', password: PASSWORD })).body, /<dd id="totp-status">Not set up<\/dd>/);
    const user = (await app.services.directory.findUserById(id))!;
    const { totp } = app.services.mfa;
    const view = await totp.enrollment.begin({ user, sessionId: 'another-browser' });
    assert.ok((await totp.enrollment.finish({ user, sessionId: 'another-browser', ip: '127.0.0.1' }, oathtoolTotp(view.secret, now))).ok);
    const page = await browser.get(`${app.url}/account/security`);
    assert.match(page.body, /Enter your code/, 'the second factor set up since is asked for');
    assert.doesNotMatch(page.body, /totp-status/);
  });
});

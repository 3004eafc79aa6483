import { test, describe, before, after } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { signInToMfaApp } from '../helpers/mfa-app-sign-in.ts';

const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
/** Codes are single use: each new code needs a new time step. */
const nextTimeStep = () => void (now += 30_000);
let app: Booted;

/** Signs in to an application that requires MFA; returns the page after the password. */
const signIn = (browser: TestBrowser, username: string) => signInToMfaApp(app, browser, { username, password: PASSWORD });

/** In another tab of the same browser: a password-only application asks for the password again (prompt=login), which starts a new SSO session. */
async function signInAgainInAnotherTab(browser: TestBrowser, username: string): Promise<void> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: 'plain-app', rpName: 'Plain App', rp: { policy: 'permit-everyone', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: true }));
  await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username, password: PASSWORD });
  assert.equal(app.finished.get(tx.id)?.ok, true, 'signed in to the other application');
}

function shownSecret(page: Page): string {
  const match = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body);
  assert.ok(match, `expected the TOTP setup page, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  return match[1]!.replace(/ /g, '');
}

const isBackupCodesPage = (page: Page) => /Your backup codes/.test(page.body);

const SECRET_KEY = randomBytes(32).toString('base64');

before(async () => {
  app = await boot({}, { clock, secretKey: SECRET_KEY });
});
after(() => app?.close());

describe('a pending TOTP secret belongs to the browser it was shown to', () => {
  test('sign-in setup: each browser gets its own secret, confirms only its own, and a secret copied before the user confirmed never passes the code step', async () => {
    const vera = (await app.services.directory.findUserById(await createUser(app, { username: 'vera', password: PASSWORD })))!;
    const victim = new TestBrowser();
    const attacker = new TestBrowser();
    const { txId: victimTx, page: victimSetup } = await signIn(victim, 'vera');
    const { page: attackerSetup } = await signIn(attacker, 'vera');
    const victimSecret = shownSecret(victimSetup);
    const attackerSecret = shownSecret(attackerSetup);
    assert.notEqual(attackerSecret, victimSecret, 'another browser gets a secret of its own');
    assert.equal(shownSecret(await victim.get(`${app.url}/login/${victimTx}`)), victimSecret, 'a reload in the same browser shows the same secret');

    const crossed = await attacker.submit(attackerSetup, { code: oathtoolTotp(victimSecret, now) });
    assert.equal(crossed.status, 401, "a code from the victim's secret does not confirm the attacker's setup");
    assert.equal(await app.services.mfa.totp.isEnrolled(vera), false);

    const confirmed = await victim.submit(victimSetup, { code: oathtoolTotp(victimSecret, now) });
    assert.ok(isBackupCodesPage(confirmed), 'the victim confirms the secret shown in their browser');

    nextTimeStep();
    const lateConfirmation = await attacker.submit(crossed, { code: oathtoolTotp(attackerSecret, now) });
    assert.equal(isBackupCodesPage(lateConfirmation), false, "the attacker's own pending secret cannot be activated once the user has one");

    const { page: codePage } = await signIn(attacker, 'vera');
    assert.match(codePage.body, /Enter your code/, 'the password alone now leads to the code step');
    const copied = await attacker.submit(codePage, { code: oathtoolTotp(attackerSecret, now) });
    assert.equal(copied.status, 401, "the secret the attacker was shown is not the user's");
  });

  test('a setup page says when a setup shown to another browser is still open: the app may hold an entry from it that will never work', async () => {
    await createUser(app, { username: 'yara', password: PASSWORD });
    const closedMidSetup = new TestBrowser();
    const cameBack = new TestBrowser();
    const { txId: firstTx, page: first } = await signIn(closedMidSetup, 'yara');
    assert.doesNotMatch(first.body, /Another setup for this account is still open/, 'the only setup shown says nothing of others');
    const { page: second } = await signIn(cameBack, 'yara');
    assert.notEqual(shownSecret(second), shownSecret(first));
    assert.match(second.body, /Another setup for this account is still open \(in another browser or window, or from before you last signed in\)\. Each setup shows its own code, and only the one you finish will work/);
    assert.match((await closedMidSetup.get(`${app.url}/login/${firstTx}`)).body, /Another setup for this account is still open/, 'the first browser is told too (someone else with the password, perhaps)');
    assert.ok(isBackupCodesPage(await cameBack.submit(second, { code: oathtoolTotp(shownSecret(second), now) })));
    nextTimeStep();
  });

  test('"my security" setup: two browsers get different secrets; a code from the other browser\'s secret does not enroll', async () => {
    await createUser(app, { username: 'walt', password: PASSWORD });
    const setupIn = async (browser: TestBrowser) => {
      const login = await browser.get(`${app.url}/account/security`);
      await browser.submit(login, { username: 'walt', password: PASSWORD });
      return browser.get(`${app.url}/account/security/totp`);
    };
    const first = new TestBrowser();
    const second = new TestBrowser();
    const firstSetup = await setupIn(first);
    const secondSetup = await setupIn(second);
    const firstSecret = shownSecret(firstSetup);
    assert.notEqual(shownSecret(secondSetup), firstSecret);
    assert.doesNotMatch(firstSetup.body, /Another setup for this account is still open/);
    assert.match(secondSetup.body, /Another setup for this account is still open/, '"My security" says so too');

    const crossed = await second.submit(secondSetup, { code: oathtoolTotp(firstSecret, now) });
    assert.equal(crossed.status, 400);
    assert.equal(isBackupCodesPage(crossed), false);
    assert.ok(isBackupCodesPage(await first.submit(firstSetup, { code: oathtoolTotp(firstSecret, now) })));
  });

  test("a secret another browser was shown before the user confirmed theirs cannot be confirmed after an administrator's reset", async () => {
    const userId = await createUser(app, { username: 'yuri', password: PASSWORD });
    const victim = new TestBrowser();
    const attacker = new TestBrowser();
    const { page: attackerSetup } = await signIn(attacker, 'yuri');
    const attackerSecret = shownSecret(attackerSetup);
    const { page: victimSetup } = await signIn(victim, 'yuri');
    assert.ok(isBackupCodesPage(await victim.submit(victimSetup, { code: oathtoolTotp(shownSecret(victimSetup), now) })));
    // The user lost their phone; the helpdesk resets with the CLI, a process that cannot see the server's memory.
    assert.equal((await cliProcess(app, SECRET_KEY, ['mfa', 'reset', 'yuri'])).code, 0);
    const yuri = (await app.services.directory.findUserById(userId))!;
    for (let waited = 0; await app.services.mfa.totp.isEnrolled(yuri); waited += 100) {
      assert.ok(waited < 5_000, 'the server sees the reset within a second or so');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    nextTimeStep();
    const late = await attacker.submit(attackerSetup, { code: oathtoolTotp(attackerSecret, now) });
    assert.equal(isBackupCodesPage(late), false, 'the old pending secret is gone');
    assert.equal(await app.services.mfa.totp.isEnrolled(yuri), false);
  });

  test("a setup shown before an administrator's reset is void, so another browser's setup page does not name it", async () => {
    await createUser(app, { username: 'zora', password: PASSWORD });
    const before = new TestBrowser();
    await signIn(before, 'zora');
    assert.equal((await cliProcess(app, SECRET_KEY, ['mfa', 'reset', 'zora'])).code, 0);
    // The server reads the CLI's lines every half second: read them now.
    await app.services.store.kv.catchUp?.();
    const { page } = await signIn(new TestBrowser(), 'zora');
    assert.doesNotMatch(page.body, /Another setup for this account is still open/);
  });

  test('a sign-in in another tab of the same browser, by the same user, keeps the setup shown: its code still confirms it', async () => {
    const userId = await createUser(app, { username: 'uma', password: PASSWORD });
    const browser = new TestBrowser();
    const { txId, page: setup } = await signIn(browser, 'uma');
    await signInAgainInAnotherTab(browser, 'uma');
    nextTimeStep();
    const confirmed = await browser.submit(setup, { code: oathtoolTotp(shownSecret(setup), now) });
    assert.ok(isBackupCodesPage(confirmed), `the code from the secret the app scanned is taken, got ${confirmed.status}:\n${confirmed.body.slice(0, 600)}`);
    const uma = (await app.services.directory.findUserById(userId))!;
    assert.equal(await app.services.mfa.totp.isEnrolled(uma), true);
    await browser.submit(confirmed);
    assert.equal(app.finished.get(txId)?.ok, true, 'the sign-in that showed the setup goes on to its application');
  });

  test('a wrong code for a setup carried over to the new session shows the same secret again, with the error', async () => {
    await createUser(app, { username: 'ursula', password: PASSWORD });
    const browser = new TestBrowser();
    const { page: setup } = await signIn(browser, 'ursula');
    await signInAgainInAnotherTab(browser, 'ursula');
    const secret = shownSecret(setup);
    const wrong = String((Number(oathtoolTotp(secret, now)) + 1) % 1_000_000).padStart(6, '0');
    const refused = await browser.submit(setup, { code: wrong });
    assert.equal(refused.status, 401);
    assert.match(refused.body, /That code is not correct/);
    assert.equal(shownSecret(refused), secret, 'the secret already scanned stays');
    nextTimeStep();
    assert.ok(isBackupCodesPage(await browser.submit(refused, { code: oathtoolTotp(secret, now) })));
  });

  test("another user's sign-in in another tab: the first user's setup code is not taken for either of them", async () => {
    const victor = (await app.services.directory.findUserById(await createUser(app, { username: 'victor', password: PASSWORD })))!;
    const wanda = (await app.services.directory.findUserById(await createUser(app, { username: 'wanda', password: PASSWORD })))!;
    const browser = new TestBrowser();
    const { page: setup } = await signIn(browser, 'victor');
    await signInAgainInAnotherTab(browser, 'wanda');
    nextTimeStep();
    const answered = await browser.submit(setup, { code: oathtoolTotp(shownSecret(setup), now) });
    assert.equal(isBackupCodesPage(answered), false);
    assert.equal(await app.services.mfa.totp.isEnrolled(victor), false);
    assert.equal(await app.services.mfa.totp.isEnrolled(wanda), false);
  });

  test("an administrator's reset with the CLI, a process apart from the server's memory, voids the secrets every browser was shown", async () => {
    const userId = await createUser(app, { username: 'xena', password: PASSWORD });
    const browsers = [new TestBrowser(), new TestBrowser()];
    const before = await Promise.all(browsers.map(async (browser) => ({ browser, ...(await signIn(browser, 'xena')) })));
    assert.equal((await cliProcess(app, SECRET_KEY, ['mfa', 'reset', 'xena'])).code, 0);
    // xena had no registration to remove: what the server sees of the reset is its mark in the store.
    await until(() => app.services.store.kv.get('mfa-totp-reset', userId), (mark) => mark !== undefined, 'the server to see the reset');
    nextTimeStep();
    const [first, second] = before;
    const refused = await first!.browser.submit(first!.page, { code: oathtoolTotp(shownSecret(first!.page), now) });
    assert.equal(isBackupCodesPage(refused), false, 'a secret shown before the reset is not confirmed');
    assert.match(refused.body, /This setup expired or was finished elsewhere\. Delete the entry you added for it from your authenticator app, then scan the new code below/, 'the page says why a new code is shown, and what to do with the old entry');
    assert.notEqual(shownSecret(refused), shownSecret(first!.page));
    const reloaded = await second!.browser.get(`${app.url}/login/${second!.txId}`);
    assert.notEqual(shownSecret(reloaded), shownSecret(second!.page), 'a new secret after the reset');
  });
});

import { test, describe, before, after } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { signInToMfaApp } from '../helpers/mfa-app-sign-in.ts';

const PASSWORD = 'correct horse 42';
/** The admin CLI reads sessions with the system clock: the server's fake clock starts at the real time. */
let now = Date.now();
const clock = { now: () => now };
/** Codes are single use: each new code needs a new time step. */
const nextTimeStep = () => void (now += 30_000);
const SECRET_KEY = randomBytes(32).toString('base64');
let app: Booted;

before(async () => {
  app = await boot({}, { clock, secretKey: SECRET_KEY });
});
after(() => app?.close());

/** Signs in to an application that requires MFA; returns the page after the password. */
const signIn = (browser: TestBrowser, username: string) => signInToMfaApp(app, browser, { username, password: PASSWORD });

function shownSecret(page: Page): string {
  const match = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body);
  assert.ok(match, `expected the TOTP setup page, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  return match[1]!.replace(/ /g, '');
}

const isBackupCodesPage = (page: Page) => /Your backup codes/.test(page.body);
const DELETE_OLD_ENTRY = /If your authenticator app already has an entry for this account from before, delete it: it will not work/;

describe('setup answered after another browser set the method up', () => {
  test('the code page says why, the audit has mfa.enroll enrolled-elsewhere, and no wrong code is counted', async () => {
    const userId = await createUser(app, { username: 'gina', password: PASSWORD });
    const first = new TestBrowser();
    const second = new TestBrowser();
    const { txId: firstTx, page: firstSetup } = await signIn(first, 'gina');
    const { page: secondSetup } = await signIn(second, 'gina');
    const secondSecret = shownSecret(secondSetup);
    assert.ok(isBackupCodesPage(await second.submit(secondSetup, { code: oathtoolTotp(secondSecret, now) })), 'the second browser sets up first');

    nextTimeStep();
    const answered = await first.submit(firstSetup, { code: oathtoolTotp(shownSecret(firstSetup), now) });
    assert.equal(answered.status, 409);
    assert.match(answered.body, /Enter your code/);
    assert.match(answered.body, /An authenticator app was set up for your account from another browser a moment ago, so the entry you just added will not work: delete it from your app\. If you set it up there, enter the code from that entry\. If that was not you, contact your helpdesk\./);

    const { events } = await app.services.store.audit.query({ types: ['mfa.enroll', 'login.mfa'] });
    const mine = events.filter((event) => event.userId === userId);
    assert.deepEqual(mine.map((event) => `${event.type} ${event.outcome} ${event.reason ?? ''}`.trim()), ['mfa.enroll success', 'mfa.enroll failure enrolled-elsewhere']);
    assert.equal(mine[1]!.ip, '127.0.0.1');

    const reloaded = await first.get(`${app.url}/login/${firstTx}`);
    assert.doesNotMatch(reloaded.body, /from another browser/, 'said once');
    nextTimeStep();
    await first.submit(reloaded, { code: oathtoolTotp(secondSecret, now) });
    assert.equal(app.finished.get(firstTx)?.ok, true, 'a code from the entry set up in the other browser signs in here');
  });
});

describe("setup answered after an administrator's reset", () => {
  test('after signing in again the new secret comes with a note to delete the old entry, once', async () => {
    const userId = await createUser(app, { username: 'jack', password: PASSWORD });
    const browser = new TestBrowser();
    const { txId, page: setup } = await signIn(browser, 'jack');
    const oldSecret = shownSecret(setup);
    assert.doesNotMatch(setup.body, DELETE_OLD_ENTRY, 'a first setup has no note');
    const reset = await cliProcess(app, SECRET_KEY, ['mfa', 'reset', 'jack']);
    assert.equal(reset.code, 0);
    assert.match(reset.out, /Ended 1 SSO session/);
    await until(() => app.services.store.kv.get('mfa-totp-reset', userId), (mark) => mark !== undefined, 'the server to see the reset');

    nextTimeStep();
    const answered = await browser.submit(setup, { code: oathtoolTotp(oldSecret, now) });
    assert.equal(isBackupCodesPage(answered), false);
    // The reset also ends the user's sessions; the server ends them within seconds.
    const page = await until(() => browser.get(`${app.url}/login/${txId}`), (shown) => /name="password"/.test(shown.body), 'the password page');
    const newSetup = await browser.submit(page, { username: 'jack', password: PASSWORD });
    const newSecret = shownSecret(newSetup);
    assert.notEqual(newSecret, oldSecret);
    assert.match(newSetup.body, DELETE_OLD_ENTRY);

    const reloaded = await browser.get(`${app.url}/login/${txId}`);
    assert.equal(shownSecret(reloaded), newSecret);
    assert.doesNotMatch(reloaded.body, DELETE_OLD_ENTRY, 'a reload of the new setup does not ask to delete it');
    nextTimeStep();
    assert.ok(isBackupCodesPage(await browser.submit(reloaded, { code: oathtoolTotp(newSecret, now) })));
  });
});

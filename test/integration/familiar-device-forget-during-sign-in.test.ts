import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import { PASSWORD_DERIVATIONS } from '../../src/directory/password-hash.ts';
import type { AdmitAccount, AuthOutcome, Directory } from '../../src/directory/directory.ts';
import type { Logger } from '../../src/core/log.ts';

/**
 * A forget (`user unlock`, a password change) that lands after a password was sent to be checked and
 * before its sign-in is complete keeps that browser a stranger: it proved the password from before
 * the forget. The forget may land while the directory checks the password, or while the SSO session
 * starts, which waits for the previous user's applications to be told of its end (up to 2.5 s).
 */
const PASSWORD = 'Correct-horse-42';
const STRANGER_IP = '203.0.113.67';
let app: Booted;
const ids = new Map<string, string>();

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 900 } });
  for (const name of ['alice', 'bea', 'cleo', 'dina', 'gail', 'hana']) ids.set(name, await addLocalUser(app.services, name, PASSWORD));
  ids.set('fay', await addLocalUser(app.services, 'fay', PASSWORD, { mustChangePassword: true }));
});
after(() => app?.close());

const forget = (name: string) => app.services.regulator.unlock(name, ids.get(name));

async function signIn(browser: TestBrowser, username: string, password: string, ip: string): Promise<{ txId: string; page: Page }> {
  browser.cookies.get(new URL(app.url).host)?.delete('sg_session');
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: 'app', rpName: 'App', rp: { policy: 'permit-everyone', allowPasswordChange: true }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  const headers = { 'x-forwarded-for': ip };
  const first = await browser.get(`${app.url}/login/${tx.id}`, { headers });
  return { txId: tx.id, page: await browser.submit(first, { username, password }, undefined, headers) };
}

const hasDeviceCookie = (browser: TestBrowser) => browser.cookies.get(new URL(app.url).host)?.has('sg_device') ?? false;

/** Strangers' wrong guesses lock the name; a browser gets past that lock only when it is familiar. */
async function lockOut(username: string): Promise<void> {
  for (let i = 0; i < 3; i++) await signIn(new TestBrowser(), username, `wrong-${i}-guess`, STRANGER_IP);
  assert.equal((await signIn(new TestBrowser(), username, PASSWORD, '10.9.9.9')).page.status, 429, `${username} is locked for strangers`);
}

/** Runs `during` once, the next time the SSO session of a sign-in starts (after its password was checked). */
function whileTheSessionStarts(during: () => Promise<unknown>): void {
  const { sessions } = app.services;
  const start = sessions.start;
  sessions.start = async (...args) => {
    sessions.start = start;
    await during();
    return start.apply(sessions, args);
  };
}

/**
 * Runs `during` once, in the next check of a password by name, between the account's admission and
 * the check itself: where an LDAP directory binds (the local directory's own check: whileTheLocalDirectoryDerives).
 */
function whileThePasswordIsChecked(during: () => Promise<unknown>): void {
  const directory: Directory = app.services.directory;
  const authenticate = directory.authenticate;
  const byName: (login: string, password: string, log?: Logger) => Promise<AuthOutcome> = authenticate.bind(directory);
  directory.authenticate = (async (login: string, password: string, log?: Logger, options?: { admitAccount: AdmitAccount<unknown> }) => {
    directory.authenticate = authenticate;
    const account = await directory.findUser(login);
    const refusal = account && options ? await options.admitAccount(account.id) : undefined;
    if (account && refusal !== undefined) return { ok: false, reason: 'not-admitted', accountId: account.id, refusal };
    await during();
    return byName(login, password, log);
  }) as Directory['authenticate'];
}

/** Runs `during` once, as the local directory's next password check starts: after it found the account, before it knows the answer. */
function whileTheLocalDirectoryDerives(during: () => Promise<unknown>): void {
  const run = PASSWORD_DERIVATIONS.run;
  PASSWORD_DERIVATIONS.run = async <T>(task: () => Promise<T>): Promise<T> => {
    PASSWORD_DERIVATIONS.run = run;
    await during();
    return PASSWORD_DERIVATIONS.run(task);
  };
}

test('an unlock while the local directory checks the password: the browser stays a stranger', async () => {
  const browser = new TestBrowser();
  whileTheLocalDirectoryDerives(() => forget('gail'));
  const { txId } = await signIn(browser, 'gail', PASSWORD, '198.51.100.6');
  assert.equal(app.finished.get(txId)?.ok, true, 'the sign-in completed');
  assert.equal(hasDeviceCookie(browser), false, 'no familiar-device cookie');
  await lockOut('gail');
  assert.equal((await signIn(browser, 'gail', PASSWORD, '198.51.100.6')).page.status, 429, 'the lock refuses it as any stranger');
});

test('a password set by an administrator while the local directory checks the old one: the browser stays a stranger', async () => {
  const browser = new TestBrowser();
  whileTheLocalDirectoryDerives(async () => assert.equal(await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).setPassword('hana', 'Another-horse-47'), undefined));
  const { txId } = await signIn(browser, 'hana', PASSWORD, '198.51.100.7');
  assert.equal(app.finished.get(txId)?.ok, true, 'the sign-in with the password read before the change completed');
  assert.equal(hasDeviceCookie(browser), false, 'no familiar-device cookie');
});

test('an unlock while the session starts, after the password was checked: the browser stays a stranger', async () => {
  const browser = new TestBrowser();
  whileTheSessionStarts(() => forget('alice'));
  const { txId } = await signIn(browser, 'alice', PASSWORD, '198.51.100.1');
  assert.equal(app.finished.get(txId)?.ok, true, 'the sign-in completed');
  assert.equal(hasDeviceCookie(browser), false, 'no familiar-device cookie');
  await lockOut('alice');
  assert.equal((await signIn(browser, 'alice', PASSWORD, '198.51.100.1')).page.status, 429, 'the lock refuses it as any stranger');
});

test('an unlock while the directory checks the password, after it found the account: the browser stays a stranger', async () => {
  const browser = new TestBrowser();
  whileThePasswordIsChecked(() => forget('bea'));
  const { txId } = await signIn(browser, 'bea', PASSWORD, '198.51.100.2');
  assert.equal(app.finished.get(txId)?.ok, true, 'the sign-in completed');
  assert.equal(hasDeviceCookie(browser), false, 'no familiar-device cookie');
});

test('an unlock before the password was sent: the browser becomes familiar and gets past the lock', async () => {
  await forget('cleo');
  const browser = new TestBrowser();
  const { txId } = await signIn(browser, 'cleo', PASSWORD, '198.51.100.3');
  assert.equal(app.finished.get(txId)?.ok, true);
  assert.equal(hasDeviceCookie(browser), true);
  await lockOut('cleo');
  const again = await signIn(browser, 'cleo', PASSWORD, '198.51.100.3');
  assert.equal(app.finished.get(again.txId)?.ok, true, `familiar: past the lock, got ${again.page.status}`);
});

test('a password set by an administrator while the session starts: the browser stays a stranger', async () => {
  const browser = new TestBrowser();
  whileTheSessionStarts(async () => assert.equal(await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).setPassword('dina', 'Another-horse-43'), undefined));
  const { txId } = await signIn(browser, 'dina', PASSWORD, '198.51.100.4');
  assert.equal(app.finished.get(txId)?.ok, true, 'the sign-in with the password checked before the change completed');
  assert.equal(hasDeviceCookie(browser), false, 'no familiar-device cookie');
});

test("the browser that changed the password becomes familiar (its own change's forget), but not after an unlock while its session starts", async () => {
  const admin = new LocalUserAdmin(app.services.store, app.services.config, app.services.clock);
  const changeIn = async (browser: TestBrowser, current: string, next: string) => {
    const { txId, page } = await signIn(browser, 'fay', current, '198.51.100.5');
    assert.match(page.body, /name="newPassword"/, `the change form, got ${page.status}`);
    await browser.submit(page, { currentPassword: current, newPassword: next, confirmPassword: next }, undefined, { 'x-forwarded-for': '198.51.100.5' });
    assert.equal(app.finished.get(txId)?.ok, true, 'signed in with the new password');
  };
  const first = new TestBrowser();
  await changeIn(first, PASSWORD, 'Changed-horse-44');
  assert.equal(hasDeviceCookie(first), true, 'the browser that proved the new password is familiar');

  assert.equal(await admin.setPassword('fay', 'Reset-horse-45', { mustChange: true }), undefined);
  const second = new TestBrowser();
  whileTheSessionStarts(() => forget('fay'));
  await changeIn(second, 'Reset-horse-45', 'Changed-horse-46');
  assert.equal(hasDeviceCookie(second), false, 'the unlock after its change keeps it out');
});

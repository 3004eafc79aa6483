import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import { RECENT_PASSWORD_SECONDS } from '../../src/mfa/recent-password.ts';
import type { Directory } from '../../src/directory/directory.ts';
import type { Regulator } from '../../src/regulation/regulator.ts';
import { SIGNED_IN_USER_FIELD } from '../../views/login/signed-in-as.ts';

/**
 * What the form of the page asking the password again before a first setup may claim: only the
 * user signed in in this browser, under the name the page sent, is checked by account (admitted,
 * locked and audited there). Any other form is a sign-in by the name it sends.
 */
const NAMES = ['pia', 'quinn', 'rita', 'sam', 'nina', 'oscar', 'tina', 'uma', 'vera', 'walt'];
/** Each user's own password: one checked against the wrong account fails. */
const passwordOf = (name: string) => `Correct-horse-${NAMES.indexOf(name) + 10}`;
let now = Date.parse('2026-11-25T09:00:00Z');
const clock = { now: () => now };
let app: Booted;
let admin: LocalUserAdmin;
const ids = new Map<string, string>();

before(async () => {
  app = await boot({ directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 100, windowSeconds: 300, lockoutSeconds: 900 } }, { clock });
  admin = new LocalUserAdmin(app.services.store, app.services.config, app.services.clock);
  for (const name of NAMES) ids.set(name, await addLocalUser(app.services, name, passwordOf(name)));
});
after(() => app?.close());

async function open(browser: TestBrowser, policy: string): Promise<{ txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: `app-${policy}`, rpName: 'App', rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  return { txId: tx.id, page: await browser.get(`${app.url}/login/${tx.id}`) };
}

async function signInWithPassword(browser: TestBrowser, login: string, password: string): Promise<Page> {
  const { page } = await open(browser, 'permit-everyone');
  return browser.submit(page, { username: login, password });
}

/** The page asking `username` for the password again before the setup, once the password is older than "My security" allows. */
async function askedAgain(browser: TestBrowser, username: string): Promise<Page> {
  now += (RECENT_PASSWORD_SECONDS + 1) * 1000;
  const { page } = await open(browser, 'permit-everyone-require-mfa');
  assert.match(page.body, new RegExp(`You are signed in as <strong>[^<]*</strong> \\(${username}\\)\\. Enter your password again`), `the password asked again, got ${page.status}`);
  return page;
}

async function lastPasswordEvent() {
  const { events } = await app.services.store.audit.query({ types: ['login.password'] });
  return events.at(-1);
}

/** Leaves `browser` a stranger to the regulator: a familiar browser's guesses are not refused by others' locks. */
function forgetFamiliarDevice(browser: TestBrowser): void {
  browser.cookies.get(new URL(app.url).host)?.delete('sg_device');
}

const isSetupPage = (page: Page) => /<code id="totp-secret">/.test(page.body);

test("the page's form sent with another name signs in that name, with that name's password", async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'pia', passwordOf('pia'));
  const page = await askedAgain(browser, 'pia');

  await browser.submit(page, { username: 'quinn', password: passwordOf('quinn') });
  const event = await lastPasswordEvent();
  assert.deepEqual([event?.outcome, event?.userId], ['success', ids.get('quinn')], "quinn's password, checked as quinn's");
  const ended = await app.services.store.audit.query({ types: ['session.ended'], user: ids.get('pia') });
  assert.deepEqual(ended.events.map((e) => e.reason), ['another-user-signed-in']);
});

test('a form naming another user than the one signed in here is a sign-in by the name it sends', async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'rita@example.org', passwordOf('rita'));
  await admin.update('rita', { email: 'rita.new@example.org' });
  const page = await askedAgain(browser, 'rita');

  // The name the page sent no longer finds rita: only the page's own form is checked for her account.
  const refused = await browser.submit(page, { [SIGNED_IN_USER_FIELD]: ids.get('sam')!, password: passwordOf('rita') });
  assert.equal(refused.status, 401);
  assert.match(refused.body, /Invalid username or password/);
  const event = await lastPasswordEvent();
  assert.deepEqual([event?.outcome, event?.reason, event?.userId], ['failure', 'invalid-credentials', undefined]);
});

test("a lock on the name the user signed in with does not refuse the user's password asked again", async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'nina@example.org', passwordOf('nina'));
  forgetFamiliarDevice(browser);
  await admin.update('nina', { email: 'nina.new@example.org' });
  await admin.update('oscar', { email: 'nina@example.org' });
  const page = await askedAgain(browser, 'nina');
  // Someone else locks the name, which finds oscar now.
  for (let i = 0; i < 3; i++) await signInWithPassword(new TestBrowser(), 'nina@example.org', `wrong-${i}-guess`);
  assert.notEqual(await app.services.regulator.lockedUntil({ login: 'nina@example.org' }), undefined, 'the name is locked');

  const setup = await browser.submit(page, { password: passwordOf('nina') });
  assert.ok(isSetupPage(setup), `the setup, got ${setup.status}:\n${setup.body.slice(0, 600)}`);
});

test("a locked account refused on the page asking its password again is audited as the account's lock, with its id", async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'tina', passwordOf('tina'));
  forgetFamiliarDevice(browser);
  let page = await askedAgain(browser, 'tina');
  for (let i = 0; i < 3; i++) page = await browser.submit(page, { password: `wrong-${i}-guess` });

  const locked = await browser.submit(page, { password: passwordOf('tina') });
  assert.equal(locked.status, 429);
  const event = await lastPasswordEvent();
  assert.deepEqual([event?.outcome, event?.reason, event?.userId], ['failure', 'rate-limited-account', ids.get('tina')]);
});

test('an account locked after its password asked again was admitted: the password is not sent to the directory', async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'uma', passwordOf('uma'));
  forgetFamiliarDevice(browser);
  const page = await askedAgain(browser, 'uma');

  const regulator: Regulator = app.services.regulator;
  const directory: Directory = app.services.directory;
  const admit = regulator.admit;
  const authenticateAccount = directory.authenticateAccount;
  const checked: string[] = [];
  regulator.admit = async (...args: Parameters<Regulator['admit']>) => {
    regulator.admit = admit;
    const admission = await admit.apply(regulator, args);
    // Guesses at her under her name from elsewhere lock the account meanwhile.
    for (let i = 0; i < 3; i++) {
      const guess = await admit.call(regulator, { login: 'uma' }, '203.0.113.9');
      assert.ok(guess.allowed);
      await guess.attempt.failed(ids.get('uma'));
    }
    return admission;
  };
  directory.authenticateAccount = async (...args: Parameters<Directory['authenticateAccount']>) => {
    checked.push(args[0]);
    return authenticateAccount.apply(directory, args);
  };
  try {
    const locked = await browser.submit(page, { password: passwordOf('uma') });
    assert.equal(locked.status, 429);
    assert.match(locked.body, /Too many failed attempts/);
  } finally {
    regulator.admit = admit;
    directory.authenticateAccount = authenticateAccount;
  }
  assert.deepEqual(checked, [], 'no password checked for the locked account');
});

test('a directory that answers for another account than the one asked again does not sign that account in', async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'vera', passwordOf('vera'));
  const page = await askedAgain(browser, 'vera');

  const directory: Directory = app.services.directory;
  const authenticateAccount = directory.authenticateAccount;
  directory.authenticateAccount = async (_account, _password, log) => {
    directory.authenticateAccount = authenticateAccount;
    return authenticateAccount.call(directory, ids.get('walt')!, passwordOf('walt'), log);
  };
  try {
    const refused = await browser.submit(page, { password: passwordOf('vera') });
    assert.equal(refused.status, 401);
  } finally {
    directory.authenticateAccount = authenticateAccount;
  }
  const walt = await app.services.store.audit.query({ types: ['login.password'], user: ids.get('walt') });
  assert.deepEqual(walt.events, [], 'no sign-in as walt');
  const session = await app.services.store.audit.query({ types: ['session.ended'], user: ids.get('vera') });
  assert.deepEqual(session.events, [], "vera's session goes on");
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { passwordSignInFrom } from '../helpers/login-request.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import { MAX_FAMILIAR_DEVICES } from '../../src/regulation/familiar-device-register.ts';

/**
 * Whoever once knew a password could collect familiar-device cookies, one per fresh browser, each with
 * guesses of its own that the account's lock does not refuse. A password Stepgate changes or sets, and
 * an admin unlock, make those browsers strangers again; and an account is familiar from a bounded
 * number of browsers.
 */
const OLD = 'Correct-horse-42';
const NEW = 'Battery-staple-99';
const ATTACKER_IP = '203.0.113.66';
const USER_IP = '10.1.1.1';
const now = Date.parse('2026-11-24T10:00:00Z');
const clock = { now: () => now };
let app: Booted;
let admin: LocalUserAdmin;
const ids = new Map<string, string>();

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 900 } }, { clock });
  for (const username of ['alice', 'bob', 'cara', 'dave', 'erin', 'fay']) ids.set(username, await addLocalUser(app.services, username, OLD));
  admin = new LocalUserAdmin(app.services.store, app.services.config, app.services.clock);
});
after(() => app?.close());

const signIn = (browser: TestBrowser, username: string, password: string, ip: string): Promise<Page> => passwordSignInFrom(app, browser, username, password, ip);

const signedIn = (page: Page) => /\/resume\?tx=/.test(page.url);

/** Browsers that each signed in as `username` with `password`: familiar to the account, for now. */
async function familiarBrowsers(username: string, password: string, count: number): Promise<TestBrowser[]> {
  const browsers = Array.from({ length: count }, () => new TestBrowser());
  for (const browser of browsers) assert.ok(signedIn(await signIn(browser, username, password, USER_IP)), `${username} signed in`);
  return browsers;
}

/** Strangers' guesses until the name is locked: then even its right password is refused. */
async function lockOut(username: string, rightPassword: string): Promise<void> {
  for (let i = 0; i < 3; i++) assert.equal((await signIn(new TestBrowser(), username, `wrong-${i}-guess`, ATTACKER_IP)).status, 401, `guess ${i + 1}`);
  assert.equal((await signIn(new TestBrowser(), username, rightPassword, '10.9.9.9')).status, 429, `${username} is locked for strangers`);
}

/** The browser is a stranger: strangers' lock refuses its guesses before any is checked, and its right password too. */
async function assertStranger(browser: TestBrowser, username: string, rightPassword: string, why: string): Promise<void> {
  assert.equal((await signIn(browser, username, 'one-more-guess', ATTACKER_IP)).status, 429, `${why}: a wrong guess is not checked`);
  assert.equal((await signIn(browser, username, rightPassword, USER_IP)).status, 429, `${why}: the account's lock refuses it`);
}

test('a password an admin sets (user set-password) makes the browsers that proved the previous one strangers', async () => {
  const collected = await familiarBrowsers('alice', OLD, 2);
  assert.equal(await admin.setPassword('alice', NEW), undefined);
  await lockOut('alice', NEW);
  for (const [i, browser] of collected.entries()) await assertStranger(browser, 'alice', NEW, `browser ${i + 1}`);

  const [laptop] = await familiarBrowsers('bob', OLD, 1);
  await admin.update('bob', {}, { password: NEW, mustChange: false });
  await lockOut('bob', NEW);
  await assertStranger(laptop!, 'bob', NEW, 'after a password given with a user update');
});

test("the user's own change at the sign-in: the browser that changed it stays familiar, the others are strangers", async () => {
  const [laptop, phone] = await familiarBrowsers('cara', OLD, 2);
  await admin.update('cara', { mustChangePassword: true });
  const change = await signIn(laptop!, 'cara', OLD, USER_IP);
  assert.match(change.body, /name="newPassword"/, `the change form, got ${change.status}`);
  const done = await laptop!.submit(change, { currentPassword: OLD, newPassword: NEW, confirmPassword: NEW }, undefined, { 'x-forwarded-for': USER_IP });
  assert.ok(signedIn(done), `changed, got ${done.status} ${done.url}`);

  await lockOut('cara', NEW);
  assert.ok(signedIn(await signIn(laptop!, 'cara', NEW, USER_IP)), 'the browser that proved the new password');
  await assertStranger(phone!, 'cara', NEW, 'a browser that proved only the previous password');
});

test('an admin unlock makes every browser of the account a stranger', async () => {
  const [laptop] = await familiarBrowsers('dave', OLD, 1);
  await app.services.regulator.unlock('dave', ids.get('dave'));
  await lockOut('dave', OLD);
  await assertStranger(laptop!, 'dave', OLD, 'after the unlock');
});

test('an account is familiar from the 10 browsers that signed in last, the bound the README states', async () => {
  // Each familiar browser has guesses of its own that the lock does not refuse: the number is the guess budget.
  const [oldest, ...recent] = await familiarBrowsers('erin', OLD, 11);
  await lockOut('erin', OLD);
  await assertStranger(oldest!, 'erin', OLD, 'the browser that signed in longest ago');
  assert.ok(signedIn(await signIn(recent[0]!, 'erin', OLD, USER_IP)), 'the oldest of the browsers it is familiar from');
  assert.equal(MAX_FAMILIAR_DEVICES, 10, 'README: at most 10 browsers, at most 10 × maxFailuresPerUser guesses per lock');
});

test("a browser that signs in again and again holds one place: the user's other browsers stay familiar", async () => {
  const others = await familiarBrowsers('fay', OLD, 9);
  const [usual] = await familiarBrowsers('fay', OLD, 1);
  for (let i = 0; i < 10; i++) assert.ok(signedIn(await signIn(usual!, 'fay', OLD, USER_IP)), `sign-in ${i + 2} from the usual browser`);
  await lockOut('fay', OLD);
  for (const [i, browser] of others.entries()) assert.ok(signedIn(await signIn(browser, 'fay', OLD, USER_IP)), `browser ${i + 1} is still familiar`);
});

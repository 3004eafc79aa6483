import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { request as loginRequest } from '../helpers/login-request.ts';

const PASSWORD = 'Correct-horse-42';
const STEP = 30_000;
const MINUTE = 60_000;
let now = Date.parse('2026-11-24T09:00:15Z');
const clock = { now: () => now };
let app: Booted;

const HOME = '/account/security';
const REPLACE = '/account/security/totp/replace';

const showsSecret = (page: Page) => /<code id="totp-secret">/.test(page.body);

/** A user with an authenticator app, set up outside any browser; returns its secret. */
async function userWithApp(username: string): Promise<string> {
  await addLocalUser(app.services, username, PASSWORD);
  const user = (await app.services.directory.findUser(username))!;
  const view = await app.services.mfa.totp.enrollment.begin({ user, sessionId: 'setup' });
  assert.ok((await app.services.mfa.totp.enrollment.finish({ user, sessionId: 'setup', ip: '127.0.0.1' }, oathtoolTotp(view.secret, now))).ok);
  now += STEP;
  return view.secret;
}

before(async () => {
  // The account page asks for nothing but the password here: what the move asks for is its own.
  app = await boot({ policies: { account: 'permit-everyone' } }, { clock });
});
after(() => app?.close());

test('a code from the sign-in is enough for 10 minutes; once the password is asked again, a code older than that is asked for again', async () => {
  const secret = await userWithApp('quinn');
  const browser = new TestBrowser();
  await browser.submit(await browser.get(`${app.url}${HOME}`), { username: 'quinn', password: PASSWORD });
  const codePage = await browser.get(`${app.url}${REPLACE}`);
  assert.match(codePage.body, /Enter your code/);
  const fresh = await browser.submit(codePage, { code: oathtoolTotp(secret, now) });
  assert.ok(fresh.url.endsWith(REPLACE) && showsSecret(fresh), `a code just proved leads to the new secret, got ${fresh.status} ${fresh.url}`);

  now += 9 * MINUTE;
  assert.ok(showsSecret(await browser.get(`${app.url}${REPLACE}`)), 'nine minutes on, the code still counts');

  now += 2 * MINUTE;
  const password = await browser.get(`${app.url}${HOME}`);
  assert.match(password.body, /name="password"/, 'the sign-in is older than 10 minutes: the password is asked again');
  const settings = await browser.submit(password, { username: 'quinn', password: PASSWORD });
  assert.match(settings.body, /<h1>My security settings<\/h1>/);
  const asked = await browser.get(`${app.url}${REPLACE}`);
  assert.match(asked.body, /Enter your code/, `the code kept from 11 minutes ago does not count, got ${asked.status} ${asked.url}`);
  assert.ok(!showsSecret(asked));
  const again = await browser.submit(asked, { code: oathtoolTotp(secret, now) });
  assert.ok(again.url.endsWith(REPLACE) && showsSecret(again), `got ${again.status} ${again.url}`);
});

test('single sign-on from an application that asks for the password alone reaches "My security", and a code is asked for before a move', async () => {
  const secret = await userWithApp('rosa');
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rp: { policy: 'permit-everyone', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'rosa', password: PASSWORD });
  assert.equal(app.finished.get(tx.id)?.ok, true, 'signed in to the application with the password');

  const settings = await browser.get(`${app.url}${HOME}`);
  assert.match(settings.body, /<h1>My security settings<\/h1>/, 'the account policy asks for nothing more');
  const asked = await browser.get(`${app.url}${REPLACE}`);
  assert.match(asked.body, /Enter your code/, `got ${asked.status} ${asked.url}`);
  assert.ok(!showsSecret(asked));
  const setup = await browser.submit(asked, { code: oathtoolTotp(secret, now) });
  assert.ok(setup.url.endsWith(REPLACE) && showsSecret(setup), `got ${setup.status} ${setup.url}`);
});

test('a link straight to a "My security" page leads there after the sign-in it needs, not to the settings page', async () => {
  const secret = await userWithApp('sven');
  const browser = new TestBrowser();
  const replace = await browser.submit(await browser.get(`${app.url}${REPLACE}`), { username: 'sven', password: PASSWORD });
  assert.match(replace.body, /Enter your code/, `the move asks for the code next, got ${replace.status} ${replace.url}`);
  const moved = await browser.submit(replace, { code: oathtoolTotp(secret, now) });
  assert.ok(moved.url.endsWith(REPLACE) && showsSecret(moved), `got ${moved.status} ${moved.url}`);

  const other = new TestBrowser();
  const newCodes = await other.submit(await other.get(`${app.url}${HOME}/backup-codes/new`), { username: 'sven', password: PASSWORD });
  assert.ok(newCodes.url.endsWith(`${HOME}/backup-codes/new`), `got ${newCodes.status} ${newCodes.url}`);

  const newcomer = await (async () => {
    await addLocalUser(app.services, 'tove', PASSWORD);
    const browser3 = new TestBrowser();
    return browser3.submit(await browser3.get(`${app.url}${HOME}/totp`), { username: 'tove', password: PASSWORD });
  })();
  assert.ok(newcomer.url.endsWith(`${HOME}/totp`) && showsSecret(newcomer), `the setup page, got ${newcomer.status} ${newcomer.url}`);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const PASSWORD = 'Correct-horse-42';
const STEP = 30_000;
let now = Date.parse('2026-11-23T10:00:15Z');
const clock = { now: () => now };
let app: Booted;

const REPLACE = '/account/security/totp/replace';

function shownSecret(page: Page): string {
  const match = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body);
  assert.ok(match, `expected a TOTP setup page, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  return match[1]!.replace(/ /g, '');
}

const shownCodes = (page: Page) => [...page.body.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((match) => match[1]!);

/** Signs `username` in to "My security" in a new browser and sets up an app there: the browser, the secret and the backup codes. */
async function enrolledUser(username: string) {
  await addLocalUser(app.services, username, PASSWORD);
  const browser = new TestBrowser();
  await browser.submit(await browser.get(`${app.url}/account/security`), { username, password: PASSWORD });
  const setup = await browser.get(`${app.url}/account/security/totp`);
  const secret = shownSecret(setup);
  const codes = await browser.submit(setup, { code: oathtoolTotp(secret, now) });
  assert.match(codes.body, /Your backup codes/);
  now += STEP;
  return { browser, secret, backupCodes: shownCodes(codes), user: (await app.services.directory.findUser(username))! };
}

const verify = (user: Awaited<ReturnType<typeof enrolledUser>>['user'], code: string) => app.services.mfa.totp.verify({ user, ip: '127.0.0.1' }, code);

before(async () => {
  // The account page asks for nothing but the password here, so the replacement's own demand for a code shows.
  app = await boot({ policies: { account: 'permit-everyone' } }, { clock });
});
after(() => app?.close());

test('a user moves their authenticator app to a new phone: the new secret works once confirmed, the old one and the old backup codes stop', async () => {
  const { browser, secret: oldSecret, backupCodes: oldCodes, user } = await enrolledUser('nora');
  const settings = await browser.get(`${app.url}/account/security`);
  assert.match(settings.body, new RegExp(`href="${REPLACE}"`), 'the settings page offers the move');
  const setup = await browser.get(`${app.url}${REPLACE}`);
  const newSecret = shownSecret(setup);
  assert.notEqual(newSecret, oldSecret);
  assert.match(setup.body, /Your current app keeps working until you enter a code from the new one/);

  const wrong = await browser.submit(setup, { code: oathtoolTotp(oldSecret, now) });
  assert.equal(wrong.status, 400, 'a code from the old app does not confirm the new one');
  assert.equal(shownSecret(wrong), newSecret, 'the same new secret is shown again');
  assert.equal((await app.services.mfa.enrollments.get(user.id)) !== undefined, true);

  const done = await browser.submit(setup, { code: oathtoolTotp(newSecret, now) });
  assert.match(done.body, /Your new authenticator app is set up/);
  const newCodes = shownCodes(done);
  assert.equal(newCodes.length, 10);
  now += STEP;
  assert.deepEqual(await verify(user, oathtoolTotp(oldSecret, now)), { ok: false, reason: 'invalid' }, 'the old app no longer works');
  now += STEP;
  assert.equal((await verify(user, oathtoolTotp(newSecret, now))).ok, true, 'the new app does');
  assert.equal((await verify(user, oldCodes[0]!)).ok, false, 'the old backup codes are void');
  assert.equal((await verify(user, newCodes[0]!)).ok, true);
  const { events } = await app.services.store.audit.query({ types: ['mfa.replace'], user: 'nora' });
  assert.deepEqual(events.map((event) => event.outcome), ['failure', 'success']);
});

test('a sign-in that proved only the password is asked for a code from the current app first, then comes back to the move', async () => {
  const { secret, user } = await enrolledUser('omar');
  const browser = new TestBrowser();
  await browser.submit(await browser.get(`${app.url}/account/security`), { username: 'omar', password: PASSWORD });
  const asked = await browser.get(`${app.url}${REPLACE}`);
  assert.match(asked.body, /Enter your code/, `the password alone does not reach a new secret, got ${asked.status} ${asked.url}`);
  assert.doesNotMatch(asked.body, /totp-secret/);

  // A forged form post without the code step changes nothing.
  const csrf = /name="_csrf" value="([^"]+)"/.exec(asked.body)![1]!;
  const forged = await browser.request(`${app.url}${REPLACE}`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, code: '123456' }) });
  assert.match(forged.body, /Enter your code/);
  assert.deepEqual(await app.services.store.audit.query({ types: ['mfa.replace'], user: 'omar' }).then((found) => found.events.length), 0);

  const setup = await browser.submit(asked, { code: oathtoolTotp(secret, now) });
  assert.ok(setup.url.endsWith(REPLACE), `after the code the browser is back at the move, got ${setup.url}`);
  const newSecret = shownSecret(setup);
  now += STEP;
  assert.match((await browser.submit(setup, { code: oathtoolTotp(newSecret, now) })).body, /Your new authenticator app is set up/);
  now += STEP;
  assert.equal((await verify(user, oathtoolTotp(newSecret, now))).ok, true);
});

test('an administrator reset while the new secret is shown voids it: nothing is registered', async () => {
  const { browser, user } = await enrolledUser('pia');
  const setup = await browser.get(`${app.url}${REPLACE}`);
  const newSecret = shownSecret(setup);
  await app.services.mfa.totpAdmin.reset(user.id);
  const late = await browser.submit(setup, { code: oathtoolTotp(newSecret, now) });
  assert.ok(late.url.endsWith('/account/security'), `got ${late.url}`);
  assert.match(late.body, /Not set up/);
  assert.equal(await app.services.mfa.enrollments.get(user.id), undefined);
});

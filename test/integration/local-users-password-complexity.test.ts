import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';

/**
 * README: directory.passwordRules `requireMixedCase` and `requireSpecial`, through what an administrator
 * and a user meet: `user set-password` (LocalUserAdmin) and the change-password page of a sign-in.
 */

const PASSWORD = 'Correct-horse-42';
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local', passwordRules: { requireMixedCase: true, requireSpecial: true } } });
});
after(() => app?.close());

test('set-password refuses one case only and no special character, each in plain words', async () => {
  await addLocalUser(app.services, 'carla', PASSWORD);
  const admin = new LocalUserAdmin(app.services.store, app.services.config, app.services.clock);
  assert.match((await admin.setPassword('carla', 'only-lower-case-42')) ?? '', /upper- and lower-case letters/);
  assert.match((await admin.setPassword('carla', 'LettersAndDigits42')) ?? '', /special character/);
  assert.match((await admin.setPassword('carla', 'LettersAndDigits42\u200b')) ?? '', /special character/, 'an invisible character is no special one');
  assert.equal(await admin.setPassword('carla', 'Two-Cases-and-42'), undefined);
});

test('the change-password page lists both rules and shows the refusal; a password that meets them finishes the sign-in', async () => {
  await addLocalUser(app.services, 'marta', PASSWORD, { mustChangePassword: true });
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(request());
  const changePage = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'marta', password: PASSWORD });
  assert.match(changePage.body, /contain upper- and lower-case letters/);
  assert.match(changePage.body, /contain a (special character|character that is neither a letter nor a digit)/);

  const refused = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: 'no-upper-case-here-7', confirmPassword: 'no-upper-case-here-7' });
  assert.equal(refused.status, 400);
  assert.match(refused.body, /It must contain upper- and lower-case letters\./);
  assert.ok(!app.finished.has(tx.id));

  await browser.submit(refused, { currentPassword: PASSWORD, newPassword: 'Upper-and-lower-7', confirmPassword: 'Upper-and-lower-7' });
  assert.ok(app.finished.has(tx.id), 'signed in with the new password');
});

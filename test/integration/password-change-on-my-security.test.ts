import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';

/**
 * An application that does not allow the change sends a user who must change their password to
 * "My security", which always takes it: a local user has no other password service to go to.
 */
const PASSWORD = 'Correct-horse-42';
const NEW_PASSWORD = 'Another-horse-43';
let app: Booted;

before(async () => {
  app = await boot();
});
after(() => app?.close());

test('a must-change password refused by an application is changed on "My security", as its refusal says, and then signs in there', async () => {
  await addLocalUser(app.services, 'mona', PASSWORD, { mustChangePassword: true });
  const refused = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(request({ rp: { allowPasswordChange: false } }));
  const refusal = await refused.submit(await refused.get(`${app.url}/login/${tx.id}`), { username: 'mona', password: PASSWORD });
  assert.equal(refusal.status, 403);
  assert.match(refusal.body, /change it on &quot;My security&quot; \(\/account\/security on this sign-in service\)/);

  const browser = new TestBrowser();
  const changePage = await browser.submit(await browser.get(`${app.url}/account/security`), { username: 'mona', password: PASSWORD });
  assert.match(changePage.body, /Change your password/);
  const changed = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
  assert.match(changed.body, /My security/);
  assert.doesNotMatch(changed.body, /Change your password/);
});

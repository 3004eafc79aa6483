import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';

/**
 * Local users: the password change during sign-in is the verified account's, by its id, as for LDAP
 * (ldap-r11-password-change-account): the sign-in after it is that account, and an account that is gone
 * meanwhile is not replaced by whichever account now has its username.
 */
const TEMPORARY = 'Temporary-pass-41';
const NEW = 'Brand-new-pass-44';
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local' } });
});
after(() => app?.close());

/** `login`'s sign-in up to the change form; the transaction's id names its result in `app.finished`. */
async function changeForm(browser: TestBrowser, login: string): Promise<{ form: Page; txId: string }> {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'change-app', rpName: 'Change App', rp: { allowPasswordChange: true }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
  const form = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: login, password: TEMPORARY });
  assert.match(form.body, /name="newPassword"/, `the change form, got ${form.status} ${form.url}`);
  return { form, txId: tx.id };
}

test('signed in by email: the change and the sign-in after it are the account that signed in', async () => {
  const id = await addLocalUser(app.services, 'grace', TEMPORARY, { email: 'grace.hopper@example.org', mustChangePassword: true });
  const browser = new TestBrowser();
  const { form, txId } = await changeForm(browser, 'grace.hopper@example.org');
  const page = await browser.submit(form, { currentPassword: TEMPORARY, newPassword: NEW, confirmPassword: NEW });
  assert.match(page.url, new RegExp(`/resume\\?tx=${txId}`), `signed in, got ${page.status} ${page.url}`);
  const result = app.finished.get(txId);
  assert.equal(result?.ok && result.user.id, id);
  const [event] = (await app.services.store.audit.query({ types: ['password.change'], limit: 1 })).events;
  assert.deepEqual([event?.outcome, event?.userId, event?.username], ['success', id, 'grace']);
});

test("the account removed and its username given to a new account meanwhile: the new account's password is not changed", async () => {
  await addLocalUser(app.services, 'frank', TEMPORARY, { mustChangePassword: true });
  const browser = new TestBrowser();
  const { form, txId } = await changeForm(browser, 'frank');
  const admin = new LocalUserAdmin(app.services.store, app.services.config, app.services.clock);
  await admin.remove('frank');
  const newcomer = await addLocalUser(app.services, 'frank', TEMPORARY, { mustChangePassword: true });

  const page = await browser.submit(form, { currentPassword: TEMPORARY, newPassword: NEW, confirmPassword: NEW });
  assert.equal(page.status, ERROR_CATALOGUE.LOGIN_FAILED.status, `${page.url} ${page.body.slice(0, 300)}`);
  assert.equal(app.finished.get(txId), undefined, 'nobody signed in');
  const [event] = (await app.services.store.audit.query({ types: ['password.change'], limit: 1 })).events;
  assert.equal(event?.reason, 'account-removed');
  assert.notEqual(event?.userId, newcomer);
  const newcomerSignIn = await app.services.directory.authenticate('frank', TEMPORARY);
  assert.ok(!newcomerSignIn.ok && newcomerSignIn.reason === 'account-state' && newcomerSignIn.user.id === newcomer, "the newcomer's password is still the one they were given");
});

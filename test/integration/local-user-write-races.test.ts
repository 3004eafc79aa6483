import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import { cliProcess, type CliRun } from '../helpers/cli.ts';
import type { LocalUserRecord } from '../../src/directory/local-users.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
const PASSWORD = 'Correct-horse-42';
const USERS_NEW_PASSWORD = 'Battery-staple-77';
const ADMINS_PASSWORD = 'Helpdesk-reset-93';
let app: Booted;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
});
after(async () => {
  await app?.close();
});

/** The admin CLI as its own process would run it: its own store on the server's data directory. */
function cli(...words: string[]): Promise<CliRun> {
  return cliProcess(app, SECRET_KEY, words);
}

async function passwordFile(password: string): Promise<string> {
  const path = join(app.dataDir, `password-${randomBytes(6).toString('hex')}.txt`);
  await writeFile(path, password, { mode: 0o600 });
  return path;
}

/** What user list --json gives of a user: the record without its password hashes, times in ISO 8601. */
type ListedUser = Pick<LocalUserRecord, 'username' | 'disabled' | 'groups'> & { passwordChangedAt?: string };

/** The user as stored (read by a CLI process, so no cache of the server's). */
async function stored(username: string): Promise<ListedUser> {
  const listed = await cli('user', 'list', '--json');
  assert.equal(listed.code, 0, listed.err);
  const users = JSON.parse(listed.out) as ListedUser[];
  return users.find((user) => user.username === username)!;
}

/** A sign-in by a user who must change their password, up to the change-password form. */
async function atChangePasswordForm(username: string): Promise<{ browser: TestBrowser; txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(request({ rp: { allowPasswordChange: true } }));
  const browser = new TestBrowser();
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username, password: PASSWORD });
  assert.match(page.body, /name="newPassword"/);
  return { browser, txId: tx.id, page };
}

test('a user disabled while their password change at sign-in is checked stays disabled, and that sign-in does not finish', async () => {
  await addLocalUser(app.services, 'dana', PASSWORD, { mustChangePassword: true });
  const { browser, txId, page } = await atChangePasswordForm('dana');

  // The server reads the user, then spends three scrypt runs before it writes: the disable lands in between.
  const change = browser.submit(page, { currentPassword: PASSWORD, newPassword: USERS_NEW_PASSWORD, confirmPassword: USERS_NEW_PASSWORD });
  const disable = await cli('user', 'disable', 'dana');
  const answer = await change;

  assert.equal(disable.code, 0, disable.err);
  assert.equal((await stored('dana')).disabled, true, 'the disable is not undone');
  assert.equal(answer.status, 403);
  assert.match(answer.body, /Your account is disabled\. Contact your helpdesk\./, 'the words of a sign-in of a disabled account');
  assert.equal(app.finished.get(txId), undefined, 'no sign-in result: the user is not signed in');
  const withOldPassword = await app.services.directory.authenticate('dana', PASSWORD);
  assert.ok(!withOldPassword.ok && withOldPassword.reason === 'account-state' && withOldPassword.state === 'disabled', 'the password is not changed either');
});

test('an admin sets a password while the user changes theirs at sign-in: one of them is refused in plain words, the other one is stored', async () => {
  await addLocalUser(app.services, 'erin', PASSWORD, { mustChangePassword: true });
  const { browser, txId, page } = await atChangePasswordForm('erin');

  const change = browser.submit(page, { currentPassword: PASSWORD, newPassword: USERS_NEW_PASSWORD, confirmPassword: USERS_NEW_PASSWORD });
  const reset = await cli('user', 'set-password', 'erin', '--password-file', await passwordFile(ADMINS_PASSWORD));
  const answer = await change;

  const userWon = app.finished.get(txId)?.ok === true;
  const adminWon = reset.code === 0;
  assert.notEqual(userWon, adminWon, `exactly one of the two changes is stored (user's: ${userWon}, admin's: ${adminWon})`);
  if (adminWon) {
    assert.equal(answer.status, 400, 'the change-password form again, not an error page');
    assert.match(answer.body, /Your password was changed meanwhile/);
  } else {
    assert.equal(reset.code, 1);
    assert.match(reset.err, /the password of erin was changed while this command ran .*nothing was changed; run it again/);
  }
  const [winner, loser] = adminWon ? [ADMINS_PASSWORD, USERS_NEW_PASSWORD] : [USERS_NEW_PASSWORD, ADMINS_PASSWORD];
  assert.equal((await app.services.directory.authenticate('erin', winner)).ok, true, 'the password that was accepted works');
  const refused = await app.services.directory.authenticate('erin', loser);
  assert.ok(!refused.ok && refused.reason === 'invalid-credentials', 'the password that was refused does not');
});

test('two password resets at once: the one that writes second is refused, not silently lost', async () => {
  await addLocalUser(app.services, 'hugo', PASSWORD);
  const passwords = ['First-helpdesk-51', 'Second-helpdesk-62'];
  const resets = await Promise.all(passwords.map(async (password) => cli('user', 'set-password', 'hugo', '--password-file', await passwordFile(password))));

  assert.deepEqual(resets.map((reset) => reset.code).sort(), [0, 1], resets.map((reset) => reset.err).join('\n'));
  assert.match(resets.find((reset) => reset.code === 1)!.err, /^the password of hugo was changed while this command ran \(by the user, or another command\): nothing was changed; run it again$/);
  await sleep(1100); // the server sees the CLI's write on its next look at the file
  const stays = passwords[resets.findIndex((reset) => reset.code === 0)]!;
  assert.equal((await app.services.directory.authenticate('hugo', stays)).ok, true, 'the password the command that succeeded set');
});

test('user set-password does not re-enable a one-time account that signed in while the new password was hashed', async () => {
  await addLocalUser(app.services, 'fred', PASSWORD, { oneTimeUse: true });
  const passwordSetAt = (await stored('fred')).passwordChangedAt!;
  // Both start together: the sign-in spends the account after one scrypt run; the CLI writes after two.
  const [signIn, reset] = await Promise.all([app.services.directory.authenticate('fred', PASSWORD), cli('user', 'set-password', 'fred', '--password-file', await passwordFile(ADMINS_PASSWORD))]);

  assert.ok(signIn.ok && signIn.spentOneTimeAccount, 'the one sign-in of the account');
  assert.equal(reset.code, 0, reset.err);
  const fred = await stored('fred');
  assert.equal(fred.disabled, true, 'used up, it stays disabled');
  assert.ok(Date.parse(fred.passwordChangedAt!) > Date.parse(passwordSetAt), 'and the new password is set');
});

test('a one-time account used up keeps the groups an admin removed a moment before', async () => {
  await addLocalUser(app.services, 'gina', PASSWORD, { oneTimeUse: true, addGroups: ['admins', 'staff'] });
  await sleep(1100); // the server looks at the file again on its next read, and then not for a second
  assert.deepEqual((await app.services.directory.findUser('gina'))?.groups, ['admins', 'staff']);
  const removal = await cli('user', 'update', 'gina', '--remove-group', 'admins');
  assert.equal(removal.code, 0, removal.err);

  const signIn = await app.services.directory.authenticate('gina', PASSWORD);
  assert.ok(signIn.ok && signIn.spentOneTimeAccount);
  const gina = await stored('gina');
  assert.equal(gina.disabled, true);
  assert.deepEqual(gina.groups, ['staff'], 'spending the account does not write back the groups it read before the removal');
});

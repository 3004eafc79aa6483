import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { localUsers, type LocalUserRecord } from '../../src/directory/local-users.ts';

const PASSWORD = 'correct horse 42';
const DAY_MS = 86_400_000;
let app: Booted;
/** Permits everyone; one that lets a user change a password at sign-in, one that does not. */
let changeHere: TestRp;
let noChange: TestRp;

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);

/** A local user whose record then gets `state`. */
async function userWith(username: string, state: Partial<LocalUserRecord>): Promise<void> {
  const id = await createUser(app, { username, password: PASSWORD });
  const users = localUsers(app.services.store);
  await users.put({ ...(await users.get(id))!, ...state });
}

/** What `policy explain` says the browser shows, with its `account` line (none: no line). */
async function explained(username: string, rp: TestRp): Promise<{ account?: string; browser: string; out: string }> {
  const { code, out, err } = await cli('policy', 'explain', '--user', username, '--app', rp.client.id, '--ip', '203.0.113.7');
  assert.equal(code, 0, err);
  return { account: /^account {3}(.*)$/m.exec(out)?.[1], browser: /^browser {3}(.*)$/m.exec(out)![1]!, out };
}

/** The page the browser gets from the application's sign-in with the right password. */
async function afterPassword(username: string, rp: TestRp) {
  const browser = rpBrowser();
  const page = await browser.get((await authRequest(rp)).url.toString());
  assert.ok(isPasswordPage(page));
  return browser.submit(page, { username, password: PASSWORD });
}

before(async () => {
  app = await boot({ directory: { kind: 'local', passwordRules: { maxAgeDays: 90 } } });
  changeHere = await createRp(app, { policy: 'permit-everyone', allowPasswordChange: true });
  noChange = await createRp(app, { policy: 'permit-everyone' });
  const now = app.services.clock.now();
  await userWith('dora-disabled', { disabled: true });
  await userWith('ezra-expired', { expiresAt: now - DAY_MS });
  await userWith('mia-must-change', { mustChangePassword: true });
  await userWith('pat-password-expired', { passwordChangedAt: now - 91 * DAY_MS });
  await userWith('otto-one-time', { oneTimeUse: true });
  await createUser(app, { username: 'able', password: PASSWORD });
});
after(() => app?.close());

describe('policy explain says when the password step refuses the account, in the words the user reads', () => {
  for (const [username, words] of [
    ['dora-disabled', 'Your account is disabled. Contact your helpdesk.'],
    ['ezra-expired', 'Your account has expired. Contact your helpdesk.'],
    ['mia-must-change', 'You must change your password before signing in. This application does not allow changing it here'],
    ['pat-password-expired', 'Your password has expired. This application does not allow changing it here'],
  ] as const) {
    test(username, async () => {
      const said = await explained(username, noChange);
      assert.ok(said.browser.startsWith(`refused at the password step: "${words}`), said.out);
      assert.match(said.account!, /: the password step refuses it, also with the right password \("/);
      assert.match(said.out, /^decision {2}allow/m, 'the policy trace is still shown, for when the account may sign in');
      const page = await afterPassword(username, noChange);
      assert.equal(page.status, 403);
      assert.ok(page.body.includes(words), `the browser reads the same words: ${page.body.slice(0, 600)}`);
    });
  }

  test('a one-time account, once spent, is refused as disabled', async () => {
    const first = await explained('otto-one-time', noChange);
    assert.equal(first.account, undefined);
    assert.match(first.browser, /^signed in/);
    assert.equal(callbackOf(noChange, await afterPassword('otto-one-time', noChange)).searchParams.has('code'), true, 'its one sign-in');
    const spent = await explained('otto-one-time', noChange);
    assert.equal(spent.browser, 'refused at the password step: "Your account is disabled. Contact your helpdesk."');
    assert.match((await afterPassword('otto-one-time', noChange)).body, /Your account is disabled\. Contact your helpdesk\./);
  });

  test('where the application allows the change, a password to change is asked for first, then the policy decides', async () => {
    for (const [username, words] of [
      ['mia-must-change', 'You must choose a new password before you continue.'],
      ['pat-password-expired', 'Your password has expired. Choose a new one to continue.'],
    ] as const) {
      const said = await explained(username, changeHere);
      assert.match(said.account!, new RegExp(`: the password step asks for a new password first \\("${words.replace(/\./g, '\\.')}"\\), then the policy below decides$`));
      assert.match(said.browser, /^asked for a new password, then signed in \(acr /);
      const page = await afterPassword(username, changeHere);
      assert.equal(page.status, 200);
      assert.ok(page.body.includes(words), `${username}: ${page.body.slice(0, 600)}`);
    }
  });

  test('an account that may sign in has no account line', async () => {
    const said = await explained('able', noChange);
    assert.equal(said.account, undefined);
    assert.match(said.browser, /^signed in \(acr /);
  });
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { signInToMfaApp, toCodePage } from '../helpers/mfa-app-sign-in.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const PASSWORD = 'correct horse 42';
const PER_CLIENT = 4;
let app: Booted;

before(async () => {
  // The per-client count is lower than a user's lock (5 wrong codes): it is the one that refuses here.
  app = await boot({ regulation: { maxFailuresPerIp: PER_CLIENT } });
});
after(() => app?.close());

async function enrolledUser(username: string): Promise<string> {
  const user = (await app.services.directory.findUserById(await createUser(app, { username, password: PASSWORD })))!;
  const { totp } = app.services.mfa;
  const view = await totp.enrollment.begin({ user, sessionId: `setup-${username}` });
  assert.ok((await totp.enrollment.finish({ user, sessionId: `setup-${username}`, ip: '127.0.0.1' }, oathtoolTotp(view.secret, Date.now()))).ok);
  return view.secret;
}

test('the server counts wrong codes on the client: one address guessing codes across several users with their passwords is stopped, whatever each user count says; its passwords are counted apart', async () => {
  const secrets: string[] = [];
  for (const name of ['cara', 'cole', 'cruz']) secrets.push(await enrolledUser(name));
  // Wrong codes spread over the users, below each user's own lock (5).
  const guesses = [['cara', 2], ['cole', 2]] as const;
  let failures = 0;
  for (const [name, count] of guesses) {
    const { browser, page } = await toCodePage(app, { username: name, password: PASSWORD });
    let current = page;
    for (let i = 0; i < count; i += 1) {
      current = await browser.submit(current, { code: '000000' });
      failures += 1;
      // The guess that fills the client's count is answered with its lock.
      assert.equal(current.status, failures < PER_CLIENT ? 401 : 429, `${name}: wrong code ${i + 1}`);
    }
    if (failures === PER_CLIENT) {
      // The address is blocked, not the user's codes: the page says which.
      assert.match(current.body, /Too many wrong codes were entered from your network, so sign-in codes from here are blocked for \d+ minutes/);
      assert.doesNotMatch(current.body, /blocked for your account/);
      // Nobody can lift an address's lock (mfa unlock is the user's): the page does not send the user to the helpdesk for it.
      assert.match(current.body, /Try again after that, or from another network\./);
      assert.doesNotMatch(current.body, /helpdesk/);
    }
  }
  // The client's count of codes is full: a third user from the same address gets past the password
  // (passwords are counted apart), and then even a right code is refused.
  const { txId, page: codePage } = await signInToMfaApp(app, new TestBrowser(), { username: 'cruz', password: PASSWORD });
  assert.equal(codePage.status, 429);
  assert.match(codePage.body, /sign-in codes from here are blocked/);
  assert.doesNotMatch(codePage.body, /name="code"/, 'no code form while the address is blocked');
  const cruz = (await app.services.directory.findUser('cruz'))!;
  const rightCode = await app.services.mfa.totp.verify({ user: cruz, ip: '127.0.0.1' }, oathtoolTotp(secrets[2]!, Date.now()));
  assert.equal(rightCode.ok ? 'ok' : rightCode.reason, 'locked', 'even a right code from the blocked address is refused');
  assert.equal(app.finished.get(txId), undefined, 'nothing is issued to a blocked client');
  assert.equal((await app.services.mfa.totp.startChallenge({ user: cruz, ip: '10.9.9.9' })).lockedUntil, undefined, 'the user is not locked elsewhere');
});

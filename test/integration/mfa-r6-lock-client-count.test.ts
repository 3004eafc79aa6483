import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
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

async function toCodePage(username: string): Promise<{ browser: TestBrowser; txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: 'mfa-app', rpName: 'MFA App', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  const browser = new TestBrowser();
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username, password: PASSWORD });
  assert.match(page.body, /Enter your code/);
  return { browser, txId: tx.id, page };
}

test('the server counts wrong codes on the client: one address guessing codes across several users with their passwords is stopped, whatever each user count says', async () => {
  const secrets: string[] = [];
  for (const name of ['cara', 'cole', 'cruz']) secrets.push(await enrolledUser(name));
  // Wrong codes spread over the users, below each user's own lock (5).
  const guesses = [['cara', 2], ['cole', 2]] as const;
  let failures = 0;
  for (const [name, count] of guesses) {
    const { browser, page } = await toCodePage(name);
    let current = page;
    for (let i = 0; i < count; i += 1) {
      current = await browser.submit(current, { code: '000000' });
      failures += 1;
      // The guess that fills the client's count is answered with its lock.
      assert.equal(current.status, failures < PER_CLIENT ? 401 : 429, `${name}: wrong code ${i + 1}`);
    }
    if (failures === PER_CLIENT) {
      // The address is blocked, not the user's codes: the page says which.
      assert.match(current.body, /Too many wrong passwords or codes were entered from your network, so sign-in from here is blocked for \d+ minutes/);
      assert.doesNotMatch(current.body, /blocked for your account/);
    }
  }
  // The client's count is full: a third user's sign-in from the same address is refused, password and code alike.
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: 'mfa-app', rpName: 'MFA App', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  const browser = new TestBrowser();
  const refused = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'cruz', password: PASSWORD });
  assert.equal(refused.status, 429);
  assert.doesNotMatch(refused.body, /Enter your code/);
  assert.equal(app.finished.get(tx.id), undefined, 'nothing is issued to a blocked client');
  const codeFromHere = await app.services.mfa.totp.startChallenge({ user: (await app.services.directory.findUser('cruz'))!, ip: '127.0.0.1' });
  assert.ok(codeFromHere.lockedUntil !== undefined, 'a code from the blocked client is refused too');
  assert.equal((await app.services.mfa.totp.startChallenge({ user: (await app.services.directory.findUser('cruz'))!, ip: '10.9.9.9' })).lockedUntil, undefined, 'the user is not locked elsewhere');
});

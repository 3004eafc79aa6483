import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { cliProcess } from '../helpers/cli.ts';

const PASSWORD = 'Correct-horse-42';
const RP = 'password-audit-app';
const secretKey = randomBytes(32).toString('base64');
let app: Booted;
let carolId: string;

/** One password POST on a fresh sign-in page; the page's answer status. */
async function postPassword(username: string, password: string): Promise<number> {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: RP, rpName: 'Password Audit', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const page = await browser.get(`${app.url}/login/${tx.id}`);
  return (await browser.submit(page, { username, password })).status;
}

/** The real CLI's JSON lines for `audit <words>`. */
async function audit(...words: string[]): Promise<Array<Record<string, unknown>>> {
  const run = await cliProcess(app, secretKey, ['audit', '--json', ...words]);
  assert.equal(run.code, 0, run.err);
  return run.out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

before(async () => {
  app = await boot({ directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 2 } }, { secretKey });
  carolId = await addLocalUser(app.services, 'carol', PASSWORD, { email: 'c.jones@example.org' });
});
after(() => app?.close());

test('a failed password names the account the directory knows, under whichever of its names it was typed', async () => {
  assert.equal(await postPassword('c.jones@example.org', 'wrong-password-1'), 401);
  assert.equal(await postPassword('CAROL', 'wrong-password-2'), 401);
  // Two failures lock the account, while the name c.jones failed once only: refused as the account's lock.
  assert.equal(await postPassword('C.Jones@example.org', 'wrong-password-3'), 429);
  assert.equal(await postPassword('nobody', 'wrong-password-4'), 401);

  const byId = await audit('--user', carolId, '--type', 'login.password');
  assert.deepEqual(
    byId.map((event) => [event.username, event.userId, event.outcome, event.reason]),
    [
      ['c.jones@example.org', carolId, 'failure', 'invalid-credentials'],
      ['CAROL', carolId, 'failure', 'invalid-credentials'],
      ['C.Jones@example.org', carolId, 'failure', 'rate-limited-account'],
    ],
    '--user <id> finds every spelling',
  );
  assert.deepEqual((await audit('--user', 'carol')).map((event) => event.username), ['CAROL'], '--user <name> matches the name typed, in any case');
  const [unknown] = await audit('--user', 'nobody');
  assert.equal(unknown?.userId, undefined, 'a name no account has names no account');
  for (const event of byId) assert.doesNotMatch(JSON.stringify(event), /wrong-password/);
  assert.deepEqual(
    byId.map((event) => event.lockStarted),
    [undefined, ['account'], undefined],
    'the second failure on the account started its lock; the guess refused by it had no password checked, so it counts nowhere',
  );
  assert.ok(Date.parse(byId[1]!.lockedUntil as string) > Date.now(), 'with the time it lifts');
});

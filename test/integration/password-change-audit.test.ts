import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { cliProcess } from '../helpers/cli.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import type { StoredAuditEvent } from '../../src/store/store.ts';

const FIRST = 'First-password-41';
const CURRENT = 'Current-password-42';
const secretKey = randomBytes(32).toString('base64');
let app: Booted;
let work: string;
let daveId: string;

async function cli(...words: string[]): Promise<string> {
  const run = await cliProcess(app, secretKey, words);
  assert.equal(run.code, 0, `${run.out}\n${run.err}`);
  return run.out;
}

async function lastEvent(type: string): Promise<StoredAuditEvent> {
  return (await app.services.store.audit.query({ types: [type], limit: 1 })).events[0]!;
}

/** dave's sign-in up to the page that makes him change his password. */
async function changePasswordPage(browser: TestBrowser): Promise<Page> {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'change-app', rpName: 'Change App', rp: { allowPasswordChange: true }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'dave', password: CURRENT });
  assert.match(page.body, /name="newPassword"/, `the change page, got ${page.status} ${page.url}`);
  return page;
}

before(async () => {
  app = await boot({ directory: { kind: 'local' } }, { secretKey });
  work = await mkdtemp(join(tmpdir(), 'stepgate-change-audit-'));
  daveId = await addLocalUser(app.services, 'dave', FIRST);
  // A second password, to be changed at the next sign-in: the first one is now in dave's history.
  assert.equal(await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).setPassword('dave', CURRENT, { mustChange: true }), undefined);
});
after(async () => {
  await app?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('the reason audited is the one the directory gives, whatever words the user is shown', async () => {
  // As a translation or a reworded sentence would: the directory's words change, its reason does not.
  const reworded = 'Das neue Passwort wurde abgelehnt.';
  const directory = app.services.directory;
  const change = directory.changePassword.bind(directory);
  directory.changePassword = async (...args) => {
    const outcome = await change(...args);
    return outcome.ok ? outcome : { ...outcome, message: reworded };
  };
  try {
    const browser = new TestBrowser();
    let page = await changePasswordPage(browser);
    for (const [newPassword, reason] of [[FIRST, 'history'], ['short1', 'rules']] as const) {
      page = await browser.submit(page, { currentPassword: CURRENT, newPassword, confirmPassword: newPassword });
      assert.equal(page.status, 400);
      assert.ok(page.body.includes(reworded), 'the reworded refusal is what the user is shown');
      const event = await lastEvent('password.change');
      assert.deepEqual([event.outcome, event.reason, event.message], ['failure', reason, reworded]);
    }
  } finally {
    Reflect.deleteProperty(directory, 'changePassword');
  }
});

test('password.change failures carry the userId and a stable reason, the sentence shown as message', async () => {
  const browser = new TestBrowser();
  let page = await changePasswordPage(browser);
  const cases: Array<[Record<string, string>, string, string | undefined]> = [
    [{ currentPassword: 'Wrong-password-43', newPassword: 'Brand-new-pass-44', confirmPassword: 'Brand-new-pass-44' }, 'wrong-current', 'The current password is not correct.'],
    [{ currentPassword: CURRENT, newPassword: 'short1', confirmPassword: 'short1' }, 'rules', 'The new password was refused. It must be at least 12 characters long.'],
    [{ currentPassword: CURRENT, newPassword: FIRST, confirmPassword: FIRST }, 'history', 'The new password was refused. It must differ from your previous passwords.'],
    [{ currentPassword: CURRENT, newPassword: 'Brand-new-pass-44', confirmPassword: 'Brand-new-pass-45' }, 'confirmation-differs', undefined],
  ];
  for (const [fields, reason, message] of cases) {
    page = await browser.submit(page, fields);
    assert.equal(page.status, 400);
    const event = await lastEvent('password.change');
    assert.deepEqual([event.outcome, event.reason, event.message, event.userId, event.username], ['failure', reason, message, daveId, 'dave'], reason);
    assert.doesNotMatch(JSON.stringify(event), /password-4[1-5]|short1/, 'no password in the event');
  }

  await cli('user', 'disable', 'dave');
  page = await browser.submit(page, { currentPassword: CURRENT, newPassword: 'Brand-new-pass-44', confirmPassword: 'Brand-new-pass-44' });
  assert.equal(page.status, 403);
  const disabled = await lastEvent('password.change');
  assert.deepEqual([disabled.reason, disabled.userId], ['account-disabled', daveId]);
  await cli('user', 'enable', 'dave');
});

test('user set-password names the account; keys activate names the key it retired', async () => {
  const passwordFile = join(work, 'dave.pw');
  await writeFile(passwordFile, 'Admin-set-password-46\n');
  await cli('user', 'set-password', 'dave', '--password-file', passwordFile);
  const set = await lastEvent('user.set-password');
  assert.deepEqual([set.username, set.userId], ['dave', daveId]);

  const previous = (await app.services.keys.all()).find((key) => key.alg === 'ES256' && key.status === 'active')!.id;
  const added = /added ES256 key (\S+) /.exec(await cli('keys', 'add', '--alg', 'ES256'))![1]!;
  await cli('keys', 'activate', added);
  const activated = await lastEvent('keys.activate');
  assert.deepEqual([activated.keyId, activated.retiredKeyId], [added, previous]);
});

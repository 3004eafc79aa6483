import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConfiguredSlapd } from '../helpers/slapd-configured.ts';
import type { SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import { PEOPLE, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { userCommands } from '../../src/cli/commands/user.ts';

/**
 * Each name typed at a sign-in has a lock of its own besides the account's: `user unlock` of an
 * account must lift the locks of every name it signs in with, not only of the name the helpdesk
 * typed, or the user stays locked out under their email while the CLI said "Unlocked".
 */

const PASSWORD = 'Correct-horse-42';
const REGULATION = { maxFailuresPerUser: 2, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 900 };

/** One password POST on a fresh sign-in page (no familiar-device cookie): its status, and whether it signed in. */
async function signIn(app: Booted, username: string, password: string): Promise<{ status: number; signedIn: boolean }> {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(request());
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username, password });
  return { status: page.status, signedIn: /\/resume\?tx=/.test(page.url) };
}

/** Wrong passwords under `username` until the account is locked; then the right one is refused too. */
async function lockUnder(app: Booted, username: string): Promise<void> {
  for (let i = 0; i < REGULATION.maxFailuresPerUser; i++) assert.equal((await signIn(app, username, `wrong-${i}-password`)).status, 401, username);
  assert.equal((await signIn(app, username, PASSWORD)).status, 429, `${username}: locked`);
}

async function unlock(app: Booted, username: string, config = app.services.config): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const { services } = app;
  const code = await runCli(userCommands, ['user', 'unlock', username], { config: () => config, store: async () => services.store, box: () => services.box, clock: services.clock, out: (line) => out.push(line), err: (line) => out.push(line) });
  return { code, out };
}

describe('user unlock of a local user', () => {
  let app: Booted;
  before(async () => {
    app = await boot({ directory: { kind: 'local' }, regulation: REGULATION });
    await addLocalUser(app.services, 'alice', PASSWORD, { email: 'alice.smith@corp.example' });
    await addLocalUser(app.services, 'bruno', PASSWORD, { email: 'b.keller@corp.example' });
  });
  after(() => app?.close());

  test('unlocking the username lifts the lock of the email the guesses were typed as, and says so', async () => {
    await lockUnder(app, 'alice.smith@corp.example');
    const unlocked = await unlock(app, 'alice');
    assert.ok((await signIn(app, 'alice.smith@corp.example', PASSWORD)).signedIn, 'by email');
    assert.ok((await signIn(app, 'alice', PASSWORD)).signedIn, 'by username');
    assert.deepEqual(unlocked, { code: 0, out: ['Unlocked alice, and its other sign-in name alice.smith@corp.example.'] });
  });

  test('unlocking the email lifts the lock of the username', async () => {
    await lockUnder(app, 'BRUNO');
    const unlocked = await unlock(app, 'b.keller@corp.example');
    assert.ok((await signIn(app, 'bruno', PASSWORD)).signedIn);
    assert.deepEqual(unlocked, { code: 0, out: ['Unlocked b.keller@corp.example, and its other sign-in name bruno.'] });
    assert.deepEqual(await unlock(app, 'bruno'), { code: 0, out: ['bruno was not locked; the count of wrong passwords is cleared, for its other sign-in name b.keller@corp.example too.'] });
  });

  test("an email counted under another account's name is left: unlocking jdoe (admin@corp.example) does not lift admin's lock", async () => {
    await addLocalUser(app.services, 'admin', PASSWORD);
    await addLocalUser(app.services, 'jdoe', PASSWORD, { email: 'admin@corp.example' });
    await lockUnder(app, 'admin');
    const unlocked = await unlock(app, 'jdoe');
    assert.deepEqual(unlocked, {
      code: 0,
      out: ['jdoe was not locked; the count of wrong passwords is cleared.', 'Left the count of admin: it is also the name of another account (admin). Sign-ins as admin@corp.example are counted there too; "user unlock admin" clears it.'],
    });
    assert.notEqual(await app.services.regulator.lockedUntil({ login: 'admin' }), undefined, "admin's name is still locked");
    const { events } = await app.services.store.audit.query({ types: ['password.unlock'], user: 'jdoe', limit: 1 });
    assert.equal(events[0]?.wasLocked, false, 'audited as no lock lifted');
  });

  test('the unlock is audited under the account\'s username whatever name was typed, so audit --user finds it; the typed name is kept as login', async () => {
    await addLocalUser(app.services, 'dora', PASSWORD, { email: 'dora.lind@corp.example' });
    await lockUnder(app, 'dora.lind@corp.example');
    assert.equal((await unlock(app, 'DORA.LIND@corp.example')).code, 0);
    const { events } = await app.services.store.audit.query({ types: ['password.unlock'], user: 'dora', limit: 10 });
    assert.equal(events.length, 1, 'found by the username');
    assert.equal(events[0]?.username, 'dora');
    assert.equal(events[0]?.login, 'DORA.LIND@corp.example');
    assert.equal(events[0]?.wasLocked, true);
  });
  test('a name the directory does not have and that is not locked (a typo) is refused, changes nothing and is not audited', async () => {
    const unlocked = await unlock(app, 'alicee');
    assert.deepEqual(unlocked, { code: 1, out: ['No user "alicee" in the local directory, and no lock on that name: nothing was changed. Check the spelling.'] });
    const { events } = await app.services.store.audit.query({ types: ['password.unlock'], user: 'alicee', limit: 10 });
    assert.equal(events.length, 0);
  });

  test('a name the directory does not have but that is locked (guesses at it) is still unlocked', async () => {
    for (let i = 0; i < REGULATION.maxFailuresPerUser; i++) assert.equal((await signIn(app, 'ghost', `wrong-${i}-password`)).status, 401);
    assert.notEqual(await app.services.regulator.lockedUntil({ login: 'ghost' }), undefined, 'locked');
    assert.deepEqual(await unlock(app, 'ghost'), { code: 0, out: ['Unlocked ghost.'] });
    assert.equal(await app.services.regulator.lockedUntil({ login: 'ghost' }), undefined);
  });
});

describe('user unlock of an LDAP user', () => {
  let slapd: SlapdHandle;
  let app: Booted;
  before(async () => {
    const carl = [
      `dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n`,
      `dn: uid=carl,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: carl\ncn: Carl Meyer\nsn: Meyer\nemployeeNumber: E-4711\nmail: carl.meyer@example.org\nuserPassword: ${PASSWORD}\n`,
    ].join('\n');
    slapd = await startConfiguredSlapd({ suffix: 'dc=example,dc=org', ldif: carl });
    const users = { filter: '(&(objectClass=inetOrgPerson)(|(uid=<username>)(employeeNumber=<username>)))', alternateLoginAttributes: ['mail'] };
    app = await boot({ directory: slapdDirectoryInput(slapd, users), regulation: REGULATION });
  });
  after(async () => {
    await app?.close();
    await slapd?.stop();
  });

  test("unlocking the uid lifts the locks of the entry's alternate login attribute and of the other attribute users.filter matches", async () => {
    await lockUnder(app, 'carl.meyer@example.org');
    const unlocked = await unlock(app, 'carl');
    assert.ok((await signIn(app, 'carl.meyer@example.org', PASSWORD)).signedIn, 'by mail');
    assert.deepEqual(unlocked, { code: 0, out: ['Unlocked carl, and its other sign-in names E-4711, carl.meyer@example.org.'] });

    await lockUnder(app, 'e-4711');
    await unlock(app, 'CORP\\carl');
    assert.ok((await signIn(app, 'E-4711', PASSWORD)).signedIn, 'by employee number');
  });

  test('a name that is not locked, while the directory cannot be asked which account it is: only the name is unlocked, not refused as unknown', async () => {
    const { config } = app.services;
    assert.equal(config.directory.kind, 'ldap');
    const unreachable = { ...config, directory: { ...config.directory, urls: ['ldap://127.0.0.1:1'] } };
    const unlocked = await unlock(app, 'carl', unreachable as typeof config);
    assert.equal(unlocked.code, 0, unlocked.out.join('\n'));
    assert.match(unlocked.out[0]!, /could not be asked which account "carl" is: only the name is unlocked/);
  });
});

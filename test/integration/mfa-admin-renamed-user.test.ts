import { PEOPLE, personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { asDirectoryAdmin } from '../helpers/ldap-admin.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { freePort } from '../../scripts/free-port.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import type { Config } from '../../src/config/schema.ts';
import { pastBackupCodeNotice } from '../helpers/backup-code-notice.ts';

// A directory renames a user and keeps her id (entryUUID); her old name then goes to someone else.
// The helpdesk names people as the directory names them now: the CLI must act on that person's
// registration, never on whichever registration still carries the name from before the rename.

/** The first alice: her entryUUID is Stepgate's user id for her, before and after the rename. */
const FIRST_ALICE_ID = '5a1e0000-0000-4000-8000-000000000001';
const FIRST_ALICE_PASSWORD = 'Passw0rd!first-alice';
const NEW_ALICE_PASSWORD = 'Passw0rd!new-alice';
const FIRST_ALICE_LDIF = personLdif({ uid: 'alice', cn: 'Alice Adams', sn: 'Adams', entryUUID: FIRST_ALICE_ID, password: FIRST_ALICE_PASSWORD });

let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
/** Codes are single use: each sign-in with a code needs a time step of its own. */
const nextTimeStep = () => void (now += 30_000);

let slapd: SlapdHandle;
let app: Booted;
let newAliceId: string;
const secrets = new Map<string, string>();

async function cli(words: string[], config: Config = app.services.config): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { services } = app;
  const code = await runCli(COMMANDS, words, { config: () => config, store: async () => services.store, box: () => services.box, clock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The server's configuration with its LDAP directory on a port nothing listens on. */
async function unreachableDirectory(): Promise<Config> {
  const { config } = app.services;
  assert.equal(config.directory.kind, 'ldap');
  return { ...config, directory: { ...config.directory, urls: [`ldap://127.0.0.1:${await freePort()}`] } };
}


const rename = (from: string, to: string) => asDirectoryAdmin(slapd, (client) => client.modifyDN(`uid=${from},${PEOPLE}`, `uid=${to}`));

/** Signs in with the password to an application whose policy asks for a second factor; returns the transaction and the page after the password. */
async function signInWithPassword(username: string, password: string): Promise<{ browser: TestBrowser; txId: string; page: Page }> {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'a', rpName: 'App', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username, password });
  return { browser, txId: tx.id, page };
}

/** Sets up TOTP as the user would, in the browser; returns the backup codes shown. */
async function enrollTotp(username: string, password: string): Promise<string[]> {
  const { browser, page } = await signInWithPassword(username, password);
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
  const shown = await browser.submit(page, { code: oathtoolTotp(secret, now) });
  assert.match(shown.body, /Your backup codes/);
  secrets.set(username, secret);
  return [...shown.body.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map((match) => match[1]!);
}

async function signInWithCode(username: string, password: string, code: string, options: { backupCode?: boolean } = {}): Promise<void> {
  const { browser, txId, page } = await signInWithPassword(username, password);
  assert.match(page.body, /Enter your code/);
  const answer = await browser.submit(page, { code });
  if (options.backupCode) await pastBackupCodeNotice(browser, answer);
  assert.equal(app.finished.get(txId)?.ok, true, `${username} is signed in`);
}

const storedName = async (userId: string) => (await app.services.mfa.enrollments.get(userId))?.username;

async function lastAudit(type: string) {
  return (await app.services.store.audit.query({ types: [type] })).events.at(-1);
}

before(async () => {
  slapd = await startSlapd({ ldif: [FIRST_ALICE_LDIF], ppolicy: false });
  app = await boot(
    {
      directory: slapdDirectoryInput(slapd),
    },
    { clock },
  );
  await enrollTotp('alice', FIRST_ALICE_PASSWORD);
  await rename('alice', 'alice2');
  await asDirectoryAdmin(slapd, (client) => client.add(`uid=alice,${PEOPLE}`, { objectClass: 'inetOrgPerson', uid: 'alice', cn: 'Alice Archer', sn: 'Archer', userPassword: NEW_ALICE_PASSWORD }));
  newAliceId = (await app.services.directory.findUser('alice'))!.id;
  assert.notEqual(newAliceId, FIRST_ALICE_ID);
  now += 60_000;
  await enrollTotp('alice', NEW_ALICE_PASSWORD);
  assert.deepEqual([await storedName(FIRST_ALICE_ID), await storedName(newAliceId)], ['alice', 'alice'], 'the first alice has not used TOTP since her rename');
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

test('mfa list marks a name stored on two registrations, and shows their ids and the names the directory gives them now', async () => {
  const listed = await cli(['mfa', 'list']);
  assert.equal(listed.code, 0);
  const rows = listed.out.split('\n').filter((line) => line.startsWith('alice'));
  assert.equal(rows.filter((row) => /^alice \* +Active /.test(row)).length, 2, listed.out);
  assert.ok(rows.some((row) => row.endsWith(` ${FIRST_ALICE_ID}`)) && rows.some((row) => row.endsWith(` ${newAliceId}`)), listed.out);
  assert.match(listed.out, new RegExp(`^alice +${FIRST_ALICE_ID} +registered 2026-11-22 10:00 +"alice2" in the directory now$`, 'm'));
  assert.match(listed.out, new RegExp(`^alice +${newAliceId} +registered 2026-11-22 10:01 +"alice" in the directory now$`, 'm'));
});

test('while the directory cannot be asked, a stored name changes nothing and the registrations under it are listed with their ids; an id still works', async () => {
  const unreachable = await unreachableDirectory();
  for (const command of ['reset', 'unlock']) {
    const refused = await cli(['mfa', command, 'alice'], unreachable);
    assert.equal(refused.code, 1, `mfa ${command} alice`);
    assert.equal(refused.out, '');
    assert.match(refused.err, /^The ldap directory could not be asked which user "alice" is: .+\. Nothing was changed\.$/m);
    assert.match(refused.err, new RegExp(`^ +${FIRST_ALICE_ID} +registered 2026-11-22 10:00$`, 'm'));
    assert.match(refused.err, new RegExp(`^ +${newAliceId} +registered 2026-11-22 10:01$`, 'm'));
    assert.match(refused.err, /give --id USER_ID/);
  }
  assert.equal((await cli(['mfa', 'reset', 'alice2'], unreachable)).code, 1, 'a name stored nowhere is refused too');
  assert.deepEqual([await storedName(FIRST_ALICE_ID), await storedName(newAliceId)], ['alice', 'alice'], 'both registrations are still there');

  const byId = await cli(['mfa', 'unlock', '--id', FIRST_ALICE_ID], unreachable);
  assert.deepEqual([byId.code, byId.out], [0, 'alice was not locked; the count of wrong codes is cleared.']);
  assert.equal((await lastAudit('mfa.unlock'))?.userId, FIRST_ALICE_ID);
});

test('mfa reset alice removes the registration of the user named alice now, not the one stored under that name before a rename', async () => {
  const reset = await cli(['mfa', 'reset', 'alice']);
  assert.deepEqual([reset.code, reset.out.split('\n')[0]], [0, 'Removed the TOTP registration of alice.']);
  assert.equal(await storedName(newAliceId), undefined);
  assert.equal(await storedName(FIRST_ALICE_ID), 'alice', 'the renamed user keeps hers');
  assert.deepEqual([(await lastAudit('mfa.reset'))?.userId, (await lastAudit('mfa.reset'))?.username], [newAliceId, 'alice']);
});

test('the renamed user is found by her current name, also as DOMAIN\\user, though her registration still carries the old one', async () => {
  const unlocked = await cli(['mfa', 'unlock', 'EXAMPLE\\alice2']);
  assert.deepEqual([unlocked.code, unlocked.out], [0, 'alice2 was not locked; the count of wrong codes is cleared.']);
  assert.equal((await lastAudit('mfa.unlock'))?.userId, FIRST_ALICE_ID);

  const reset = await cli(['mfa', 'reset', 'alice2']);
  assert.deepEqual([reset.code, reset.out.split('\n')[0]], [0, 'Removed the TOTP registration of alice2.']);
  assert.equal(await storedName(FIRST_ALICE_ID), undefined);
  assert.deepEqual([(await lastAudit('mfa.reset'))?.userId, (await lastAudit('mfa.reset'))?.username], [FIRST_ALICE_ID, 'alice2']);
});

test('a sign-in with a code or a backup code stores the name the user has now; her old name then finds nobody', async () => {
  nextTimeStep();
  const backupCodes = await enrollTotp('alice2', FIRST_ALICE_PASSWORD);
  await rename('alice2', 'adams');
  assert.match((await cli(['mfa', 'list'])).out, new RegExp(`^alice2 +Active .* ${FIRST_ALICE_ID}$`, 'm'), 'stored at registration, until her next sign-in');
  const stale = await cli(['mfa', 'reset', 'alice2']);
  assert.equal(stale.code, 1, 'the directory has no alice2: the registration stored under that name is only pointed at');
  assert.match(stale.err, /^No user "alice2" in the ldap directory\.$/m);
  assert.match(stale.err, new RegExp(`^ +${FIRST_ALICE_ID} +registered 2026-11-22 10:01 +"adams" in the directory now$`, 'm'));
  assert.equal(await storedName(FIRST_ALICE_ID), 'alice2');

  nextTimeStep();
  await signInWithCode('adams', FIRST_ALICE_PASSWORD, oathtoolTotp(secrets.get('alice2')!, now));
  assert.equal(await storedName(FIRST_ALICE_ID), 'adams');
  const listed = await cli(['mfa', 'list']);
  assert.match(listed.out, new RegExp(`^adams +Active .* ${FIRST_ALICE_ID}$`, 'm'));
  assert.doesNotMatch(listed.out, /^alice2/m);
  const gone = await cli(['mfa', 'reset', 'alice2']);
  assert.deepEqual([gone.code, gone.err], [1, 'No user "alice2" in the ldap directory.']);

  await rename('adams', 'alice.adams');
  // Past the few seconds for which the server reuses a directory answer about a user id.
  nextTimeStep();
  await signInWithCode('alice.adams', FIRST_ALICE_PASSWORD, backupCodes[0]!, { backupCode: true });
  assert.equal(await storedName(FIRST_ALICE_ID), 'alice.adams');
});

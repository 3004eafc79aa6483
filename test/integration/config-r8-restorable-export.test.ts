import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import { parseConfig } from '../../src/config/load.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { localUsers, type LocalUserRecord } from '../../src/directory/local-users.ts';
import { hashPassword } from '../../src/directory/password-hash.ts';
import { POLICY_COLLECTION, type PolicyRecord } from '../../src/policy/policy-store.ts';
import type { Store } from '../../src/store/store.ts';

/** One data directory with its key, worked on by the CLI as `npm run cli` would. */
interface Installation {
  dir: string;
  store: Store;
  box: SecretBox;
}

let work: string;
let upgraded: Installation;
let fresh: Installation;
let passwordFile: string;

async function installation(name: string): Promise<Installation> {
  const dir = join(work, name);
  const box = new SecretBox(randomBytes(32));
  return { dir, box, store: await new LowdbStore(dir, systemClock, { sealer: journalSealer(box) }).open() };
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'stepgate-r8-restorable-'));
  passwordFile = join(work, 'export.pw');
  await writeFile(passwordFile, 'a long export passphrase\n', { mode: 0o600 });
  upgraded = await installation('upgraded');
  fresh = await installation('fresh');
});
after(async () => {
  await upgraded?.store.close();
  await fresh?.store.close();
  await rm(work, { recursive: true, force: true });
});

async function cli(on: Installation, ...words: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const config = () => parseConfig({ dataDir: on.dir });
  const code = await runCli(COMMANDS, words, { config, store: async () => on.store, box: () => on.box, clock: systemClock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A user as a version before the checks of local users' names and addresses stored it. */
async function storedByEarlierVersion(id: string, username: string, changes: Partial<LocalUserRecord>): Promise<void> {
  const record: LocalUserRecord = { id, username, groups: [], attributes: {}, passwordHash: await hashPassword('a-long-Passw0rd-1'), previousPasswordHashes: [], mustChangePassword: false, disabled: false, oneTimeUse: false, createdAt: 0, ...changes };
  await localUsers(upgraded.store).put(record);
}

const oversized = { name: 'big', rules: Array.from({ length: 1001 }, (_, i) => ({ when: { username: [`user${i}`] }, then: { effect: 'permit' } })) };

test('config export names every record its own import would refuse or accept only as an earlier version saved it, with the command that fixes it', async () => {
  await storedByEarlierVersion('old-eve', 'eve', { email: 'ev\u200be@example.org' });
  await storedByEarlierVersion('old-mallory', 'mallory', { name: 'Mal\u202elory' });
  await storedByEarlierVersion('old-jose1', 'jose1', { email: 'jose\u0301@example.org' });
  await storedByEarlierVersion('old-jose2', 'jose2', { email: 'jos\u00e9@example.org' });
  const policies = upgraded.store.collection<PolicyRecord>(POLICY_COLLECTION);
  await policies.put({ id: 'big', definition: oversized, updatedAt: 0 } as unknown as PolicyRecord);
  await policies.put({ id: 'earlier', definition: { name: 'earlier', rules: [{ then: { effect: 'permit' } }, { when: { groups: ['x'] }, then: { effect: 'deny' } }] }, updatedAt: 0 } as PolicyRecord);

  const file = join(work, 'upgraded.export');
  const exported = await cli(upgraded, 'config', 'export', '--out', file, '--password-file', passwordFile);
  assert.equal(exported.code, 0, 'the export is written all the same');
  assert.ok(existsSync(file));
  assert.match(exported.out, /^Exported 0 SAML SPs, 0 OIDC clients, 2 custom policies, 0 signing keys, 4 local users to /);
  const [refused, outdated] = exported.err.split(/\n(?=Warning: )/);
  assert.match(refused!, /^Warning: config import would refuse this file, even into a new data directory, because of these records \(the file was written all the same\):$/m);
  assert.equal(refused!.split('\n').filter((line) => line.startsWith('  - ')).length, 2, refused);
  assert.match(refused!, /^ {2}- policy big: rules: a policy has at most 1000 rules$/m);
  assert.match(refused!, /^ {2}- local users: "josé@example\.org" would be the username or email of jose1 \(id old-jose1\) and jose2 \(id old-jose2\), .*give one of them another email \(user update USERNAME --email ADDRESS\) or remove one \(user remove USERNAME\)/m);
  assert.match(refused!, /^Fix them here, then export again: a policy with `policy set --file FILE` \(`policy show NAME` prints its definition\)/m);
  assert.equal(outdated!.split('\n').filter((line) => line.startsWith('  - ')).length, 3, outdated);
  assert.match(outdated!, /^Warning: config import would accept these records only as an earlier version saved them; fix them here:$/m);
  assert.match(outdated!, /^ {2}- local user old-eve: the email address "ev\\u200Be@example\.org" contains U\+200B: .*\(accepted: an earlier version allowed this; fix it with `user update eve --email ADDRESS`\)$/m);
  assert.match(outdated!, /^ {2}- local user old-mallory: the name "Mal\\u202Elory" contains U\+202E: .*\(accepted: an earlier version allowed this; fix it with `user update mallory --name NAME`\)$/m);
  assert.match(outdated!, /^ {2}- policy earlier: rules\[1\]: rule #2 can never match: .*`policy set --file FILE`/m);

  // A scheduled export (--quiet) still tells: this is what stands between the admin and a restore.
  const quiet = await cli(upgraded, 'config', 'export', '--out', file, '--password-file', passwordFile, '--force', '--quiet');
  assert.deepEqual([quiet.code, quiet.out, quiet.err], [0, '', exported.err]);

  // What the export said is what the import says.
  const restore = await cli(fresh, 'config', 'import', '--in', file, '--password-file', passwordFile, '--dry-run');
  assert.equal(restore.code, 1);
  for (const line of refused!.split('\n').filter((item) => item.startsWith('  - '))) assert.ok(restore.err.includes(line), `${line}\nin\n${restore.err}`);
});

test('once the refused records are fixed, the backup imports: local users an earlier version saved come in as saved, with a warning naming user update', async () => {
  assert.equal((await cli(upgraded, 'user', 'update', 'jose2', '--email', 'jose.two@example.org')).code, 0);
  const shorter = join(work, 'big.json');
  await writeFile(shorter, JSON.stringify({ ...oversized, rules: oversized.rules.slice(0, 1000) }));
  assert.equal((await cli(upgraded, 'policy', 'set', '--file', shorter)).code, 0);
  const file = join(work, 'fixed.export');
  const exported = await cli(upgraded, 'config', 'export', '--out', file, '--password-file', passwordFile);
  assert.equal(exported.code, 0);
  assert.doesNotMatch(exported.err, /config import would refuse/);

  const imported = await cli(fresh, 'config', 'import', '--in', file, '--password-file', passwordFile);
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /^Warning: local user old-eve: the email address "ev\\u200Be@example\.org" contains U\+200B: .*fix it with `user update eve --email ADDRESS`\)$/m);
  assert.match(imported.out, /^Warning: local user old-mallory: the name "Mal\\u202Elory" contains U\+202E: .*fix it with `user update mallory --name NAME`\)$/m);
  const users = await localUsers(fresh.store).list();
  assert.equal(users.find((user) => user.username === 'eve')!.email, 'ev\u200be@example.org', 'stored as the earlier version saved it');
  assert.equal(users.find((user) => user.username === 'mallory')!.name, 'Mal\u202elory');

  // The fix the warning names works there, and what an administrator types today is still refused.
  assert.equal((await cli(fresh, 'user', 'update', 'eve', '--email', 'eve@example.org')).code, 0);
  assert.equal((await cli(fresh, 'user', 'update', 'mallory', '--name', 'Mallory')).code, 0);
  const typed = await cli(fresh, 'user', 'add', 'zed', '--email', 'z\u200bed@example.org');
  assert.equal(typed.code, 1);
  assert.match(typed.err, /contains U\+200B/);
});

import { cliInProcess } from '../helpers/cli.ts';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/load.ts';
import { localDirectorySchema } from '../../src/config/schema.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { sealWithPassword } from '../../src/core/password-envelope.ts';
import { CONFIG_EXPORT, keyCheck, PAYLOAD_VERSION } from '../../src/config-transfer/config-payload.ts';
import { LocalDirectory } from '../../src/directory/local-directory.ts';
import { localUsers, type LocalUserRecord } from '../../src/directory/local-users.ts';
import { hashPassword } from '../../src/directory/password-hash.ts';
import type { Store } from '../../src/store/store.ts';

/**
 * Local passwords are kept in NFKC (password-hash.ts), and local sign-in names are read in
 * compatibility form by the locks and policies: the password rules judge the password as it is kept,
 * and a user's email may not be another user's name in fullwidth letters.
 */

const EXPORT_PASSWORD = 'export password 42';
const FULLWIDTH_ALICE = '\uff41\uff4c\uff49\uff43\uff45';

describe('local users: password rules on the password kept, names in compatibility form', () => {
  let dir: string;
  let store: Store;
  const box = new SecretBox(randomBytes(32));
  const config = () => parseConfig({ dataDir: dir });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepgate-r11-names-'));
    store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(box) }).open();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (...words: string[]) => cliInProcess({ config, store: async () => store, box: () => box, clock: systemClock }, words);
  async function passwordFile(password: string): Promise<string> {
    const path = join(dir, `${randomBytes(4).toString('hex')}.pw`);
    await writeFile(path, `${password}\n`, { mode: 0o600 });
    return path;
  }
  const stored = async (username: string) => (await localUsers(store).list()).find((record) => record.username === username);
  const signIn = (login: string, password: string) => new LocalDirectory(localUsers(store), localDirectorySchema.parse({ kind: 'local' }), systemClock).authenticate(login, password);
  const fileUser = (id: string, username: string, changes: Partial<LocalUserRecord>): LocalUserRecord => ({ id, username, groups: [], attributes: {}, previousPasswordHashes: [], mustChangePassword: false, disabled: false, oneTimeUse: false, createdAt: 0, ...changes });

  /** `config import` of a file holding these local users (and nothing else), as config export writes one. */
  async function configImport(users: LocalUserRecord[]): Promise<{ code: number; out: string; err: string }> {
    const payload = { version: PAYLOAD_VERSION, exportedAt: new Date().toISOString(), source: { publicUrl: 'https://old.example.org', keyCheck: keyCheck(box) }, policies: [], samlServiceProviders: [], oidcClients: [], signingKeys: [], localUsers: users };
    const file = join(dir, `import-${randomBytes(4).toString('hex')}.json`);
    await writeFile(file, sealWithPassword(payload, EXPORT_PASSWORD, CONFIG_EXPORT), { mode: 0o600 });
    return cli('config', 'import', '--in', file, '--password-file', await passwordFile(EXPORT_PASSWORD));
  }

  test('the username rule sees the username in fullwidth letters, which the password kept has as plain ones', async () => {
    const refused = await cli('user', 'add', 'alice', '--email', 'alice@example.org', '--password-file', await passwordFile(`${FULLWIDTH_ALICE}-Secret-123`));
    assert.equal(refused.code, 1);
    assert.match(refused.err, /Password refused: It must not contain your username\./);
    assert.equal(await stored('alice'), undefined, 'no user added');

    assert.equal((await cli('user', 'add', 'alice', '--email', 'alice@example.org', '--password-file', await passwordFile('Secret-123-horse'))).code, 0);
    const update = await cli('user', 'set-password', 'alice', '--password-file', await passwordFile(`My-${FULLWIDTH_ALICE.toUpperCase()}-Secret-9`));
    assert.equal(update.code, 1);
    assert.match(update.err, /It must not contain your username\./);
    assert.equal((await signIn('alice', 'Secret-123-horse')).ok, true, 'the password is unchanged');
  });

  test('the length rule counts the characters kept, not the code units typed', async () => {
    // "e" and a combining acute, five times: ten code units typed, five "é" kept.
    const decomposed = `${'e\u0301'.repeat(5)}a1`;
    assert.equal(decomposed.length, 12);
    const refused = await cli('user', 'add', 'bruno', '--password-file', await passwordFile(decomposed));
    assert.equal(refused.code, 1);
    assert.match(refused.err, /It must be at least 12 characters long\./);
    assert.equal(await stored('bruno'), undefined);
    // The other way round: the ligature U+FDFA is 1 character typed and 18 letters kept; with a digit, still 2 typed.
    const ligature = await cli('user', 'add', 'bruno', '--password-file', await passwordFile('\uFDFA1'));
    assert.equal(ligature.code, 1, 'a two-character password does not pass a 12-character minimum by spelling out a ligature');
    assert.match(ligature.err, /It must be at least 12 characters long\./);
    assert.equal(await stored('bruno'), undefined);
  });

  test('a username of one or two characters is not looked for in the password; one of three is', async () => {
    assert.equal((await cli('user', 'add', 'e', '--password-file', await passwordFile('Correct-horse-42'))).code, 0);
    assert.equal((await signIn('e', 'Correct-horse-42')).ok, true);
    assert.equal((await cli('user', 'add', 'jo', '--password-file', await passwordFile('Jolly-jumper-42'))).code, 0);
    const three = await cli('user', 'add', 'bob', '--password-file', await passwordFile('Bobby-tables-42'));
    assert.equal(three.code, 1);
    assert.match(three.err, /It must not contain your username\./);
  });

  test("an email that is another user's address in fullwidth letters is refused, by user add, user update and config import", async () => {
    assert.equal((await cli('user', 'add', 'carl', '--email', 'carl@example.org')).code, 0);
    const added = await cli('user', 'add', 'hank', '--email', '\uff43arl@example.org');
    assert.equal(added.code, 1);
    assert.match(added.err, /"carl@example\.org" is already the username or email of carl .*fullwidth and other compatibility letters as their plain ones/);
    assert.equal(await stored('hank'), undefined);

    assert.equal((await cli('user', 'add', 'hank', '--email', 'hank@example.org')).code, 0);
    const updated = await cli('user', 'update', 'hank', '--email', 'CARL@\uff45xample.org');
    assert.equal(updated.code, 1);
    assert.match(updated.err, /"carl@example\.org" is already the username or email of carl/);
    assert.equal((await stored('hank'))!.email, 'hank@example.org');

    const imported = await configImport([fileUser('imported-ivy', 'ivy', { email: '\uff43\uff41rl@example.org' })]);
    assert.equal(imported.code, 1);
    assert.match(imported.err, /local users: "carl@example\.org" would be the username or email of carl \(id \S+\) and ivy \(id imported-ivy\), once fullwidth and other compatibility letters are read as the plain ones/);
    assert.doesNotMatch(imported.err, /sign-in would reach one of them only/, 'each lookalike signs in its own user: the reason given is the one that holds');
    assert.equal(await stored('ivy'), undefined);
  });

  test('two lookalike addresses an older version let in are not listed as one name: each signs in its own user', async () => {
    const olderVersion = async (id: string, username: string, email: string) =>
      localUsers(store).put({ ...fileUser(id, username, { email }), passwordHash: await hashPassword('Older-version-42') });
    await olderVersion('old-dana-1', 'dana1', '\uff44ana@example.org');
    await olderVersion('old-dana-2', 'dana2', '\uff44\uff41na@example.org');
    const list = await cli('user', 'list');
    assert.equal(list.code, 0, list.err);
    assert.doesNotMatch(list.out, /Sign-in names shared/);
    const outcome = await signIn('\uff44\uff41na@example.org', 'Older-version-42');
    assert.equal(outcome.ok && outcome.user.username, 'dana2');
  });
});

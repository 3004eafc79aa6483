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

const PASSWORD = 'a-long-Passw0rd-1';
const EXPORT_PASSWORD = 'export password 42';
/** One address, as two encodings of "é" spell it: one character (NFC), or "e" and a combining accent (NFD, as macOS writes it). */
const JOSE_NFC = 'jos\u00e9@example.org';
const JOSE_NFD = 'jose\u0301@example.org';

describe('local users: an address that looks the same is the same address, and invisible characters are refused', () => {
  let dir: string;
  let store: Store;
  let passwordFile: string;
  const box = new SecretBox(randomBytes(32));
  const config = () => parseConfig({ dataDir: dir });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepgate-lookalike-'));
    store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(box) }).open();
    passwordFile = join(dir, 'user.pw');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (...words: string[]) => cliInProcess({ config, store: async () => store, box: () => box, clock: systemClock }, words);
  const stored = async (username: string) => (await localUsers(store).list()).find((record) => record.username === username);
  const signIn = (login: string) => new LocalDirectory(localUsers(store), localDirectorySchema.parse({ kind: 'local' }), systemClock).authenticate(login, PASSWORD);

  /** A user as an older version stored it, without today's checks. */
  async function storedByOlderVersion(id: string, username: string, changes: Partial<LocalUserRecord>): Promise<void> {
    const record: LocalUserRecord = { id, username, groups: [], attributes: {}, passwordHash: await hashPassword(PASSWORD), previousPasswordHashes: [], mustChangePassword: false, disabled: false, oneTimeUse: false, createdAt: 0, ...changes };
    await localUsers(store).put(record);
  }

  /** `config import` of a file holding these local users (and nothing else), as config export writes one. */
  async function configImport(users: LocalUserRecord[]): Promise<{ code: number; out: string; err: string }> {
    const payload = { version: PAYLOAD_VERSION, exportedAt: new Date().toISOString(), source: { publicUrl: 'https://old.example.org', keyCheck: keyCheck(box) }, policies: [], samlServiceProviders: [], oidcClients: [], signingKeys: [], localUsers: users };
    const file = join(dir, `import-${randomBytes(4).toString('hex')}.json`);
    const exportPasswordFile = join(dir, 'export.pw');
    await writeFile(file, sealWithPassword(payload, EXPORT_PASSWORD, CONFIG_EXPORT), { mode: 0o600 });
    await writeFile(exportPasswordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
    return cli('config', 'import', '--in', file, '--password-file', exportPasswordFile);
  }
  const fileUser = (id: string, username: string, changes: Partial<LocalUserRecord>): LocalUserRecord => ({ id, username, groups: [], attributes: {}, previousPasswordHashes: [], mustChangePassword: false, disabled: false, oneTimeUse: false, createdAt: 0, ...changes });

  test('an address typed in NFD is the NFC one: stored in NFC, signed in with either way, and not given to a second user', async () => {
    assert.equal((await cli('user', 'add', 'jose1', '--email', JOSE_NFD, '--password-file', passwordFile)).code, 0);
    assert.equal((await stored('jose1'))!.email, JOSE_NFC, 'stored in NFC');

    const second = await cli('user', 'add', 'jose2', '--email', JOSE_NFC, '--password-file', passwordFile);
    assert.equal(second.code, 1);
    assert.match(second.err, /"josé@example\.org" is already the username or email of jose1/);
    assert.equal(await stored('jose2'), undefined, 'no second user');
    assert.equal((await cli('user', 'add', 'jose3', '--email', 'JOSE\u0301@EXAMPLE.ORG')).code, 1, 'in another case too');

    for (const login of [JOSE_NFC, JOSE_NFD, ` ${JOSE_NFD.toUpperCase()} `]) {
      const outcome = await signIn(login);
      assert.equal(outcome.ok && outcome.user.username, 'jose1', `sign-in as ${JSON.stringify(login)}`);
    }
    assert.match((await cli('directory', 'test', '--user', JOSE_NFD)).out, /ok {4}user-lookup {6}jose1 /);
    assert.equal(JSON.parse((await cli('user', 'show', JOSE_NFD)).out).username, 'jose1');
  });

  test('invisible and text-direction characters are refused in emails, and text-direction characters in display names', async () => {
    assert.equal((await cli('user', 'add', 'alice', '--email', 'alice@example.org', '--name', 'Alice')).code, 0);
    const refusals: Array<[string[], RegExp]> = [
      [['user', 'add', 'zw', '--email', 'al\u200bice@example.org'], /the email address "al\\u200Bice@example\.org" contains U\+200B: invisible or text-direction characters are not allowed/],
      // Not format characters, but default-ignorable: dropped on screen and by IDNA mapping (exa\u034Fmple.org is example.org).
      [['user', 'add', 'cgj', '--email', 'alice@exa\u034fmple.org'], /the email address "alice@exa\\u034Fmple\.org" contains U\+034F: invisible or text-direction characters are not allowed/],
      [['user', 'add', 'hf', '--email', '\u3164bob@example.org'], /contains U\+3164: invisible/],
      [['user', 'add', 'rtl', '--email', 'x\u202egro.elpmaxe@bob'], /the email address "x\\u202Egro\.elpmaxe@bob" contains U\+202E/],
      [['user', 'add', 'shy', '--email', 'ali\u00adce@example.org'], /contains U\+00AD/],
      [['user', 'add', 'tag', '--email', 'alice\u{e0041}@example.org'], /contains U\+E0041/],
      [['user', 'add', 'bidi', '--name', 'Eve \u202eecilA'], /the name "Eve \\u202EecilA" contains U\+202E: characters that change the direction of the text are not allowed in a name/],
      [['user', 'add', 'isolate', '--name', 'Eve \u2067Alice\u2069'], /contains U\+2067, U\+2069/],
      [['user', 'update', 'alice', '--email', 'alice\u2060@example.org'], /contains U\+2060/],
      [['user', 'update', 'alice', '--name', 'Alice \u202d'], /contains U\+202D/],
    ];
    for (const [words, message] of refusals) {
      const users = JSON.stringify(await localUsers(store).list());
      const result = await cli(...words);
      assert.equal(result.code, 1, words.join(' '));
      assert.match(result.err, message, words.join(' '));
      assert.equal(JSON.stringify(await localUsers(store).list()), users, `${words.join(' ')}: nothing written`);
    }
    // Joiners belong in emoji and in Persian and Indic names; an accented name is kept as typed.
    for (const name of ['Ana \u{1f469}\u200d\u{1f4bb}', 'Mi\u200cnoo', 'Ame\u0301lie']) {
      assert.equal((await cli('user', 'update', 'alice', '--name', name)).code, 0, JSON.stringify(name));
      assert.equal((await stored('alice'))!.name, name);
    }
  });

  test('a user an older version stored in NFD is found by either spelling, and their address is not given to anyone else', async () => {
    await storedByOlderVersion('old-ines', 'ines', { email: 'ine\u0300s@example.org' });
    for (const login of ['in\u00e8s@example.org', 'ine\u0300s@example.org']) {
      const outcome = await signIn(login);
      assert.equal(outcome.ok && outcome.user.id, 'old-ines', `sign-in as ${JSON.stringify(login)}`);
    }
    const taken = await cli('user', 'add', 'ines2', '--email', 'IN\u00c8S@example.org');
    assert.equal(taken.code, 1);
    assert.match(taken.err, /is already the username or email of ines/);
    const moved = await configImport([fileUser('new-ines', 'ines3', { email: 'in\u00e8s@example.org' })]);
    assert.equal(moved.code, 1);
    assert.match(moved.err, /local users: "inès@example\.org" would be the username or email of ines \(id old-ines\) and ines3 \(id new-ines\)/);
    assert.equal(await stored('ines3'), undefined);

    const unknown = await signIn('in\u00e8s2@example.org');
    assert.deepEqual(unknown, { ok: false, reason: 'invalid-credentials' }, 'an unknown name: no account named');
  });

  test('user list shows what an older version let in: invisible characters, and a sign-in name two users share', async () => {
    await storedByOlderVersion('old-zoe-1', 'zoe1', { email: 'zo\u00eb@example.org' });
    await storedByOlderVersion('old-zoe-2', 'zoe2', { email: 'zoe\u0308@example.org' });
    await storedByOlderVersion('old-bob', 'bob', { email: 'b\u200bob@example.org', name: 'Bob \u202eevE' });
    const list = await cli('user', 'list');
    assert.equal(list.code, 0);
    assert.match(list.out, /^bob +active +b\\u200Bob@example\.org \[\]$/m);
    assert.match(list.out, /Sign-in names shared by several users/);
    assert.match(list.out, /^ {2}"zoë@example\.org": zoe1, zoe2$/m, 'the user the name signs in comes first');
    assert.match((await cli('user', 'list', '--json')).out, /"name": "Bob \\u202EevE"/);
    assert.match((await cli('user', 'show', 'bob')).out, /"email": "b\\u200Bob@example\.org"/);

    // The admin's way out: the second user gets another address, and the note is gone.
    assert.equal((await cli('user', 'update', 'zoe2', '--email', 'zoe.two@example.org')).code, 0);
    assert.doesNotMatch((await cli('user', 'list')).out, /Sign-in names shared/);
  });

  test('config import stores addresses in NFC, and takes in, with a warning naming user update, the invisible and text-direction characters an earlier version let in', async () => {
    const imported = await configImport([fileUser('imported-1', 'renee', { email: 'rene\u0301e@example.org', name: 'Rene\u0301e' })]);
    assert.equal(imported.code, 0, imported.err);
    assert.equal((await stored('renee'))!.email, 'ren\u00e9e@example.org');
    assert.equal(JSON.parse((await cli('user', 'show', 'rene\u0301e@example.org')).out).username, 'renee', 'found by the NFD spelling too');

    // user add refuses them (above); a backup of an installation an earlier version ran holds them, and is restored.
    const earlier = await configImport([fileUser('imported-2', 'mallory', { email: 'al\u200bice@example.org', name: 'Mallory \u202e' })]);
    assert.equal(earlier.code, 0, earlier.err);
    assert.match(earlier.out, /^Warning: local user imported-2: the email address "al\\u200Bice@example\.org" contains U\+200B: .*fix it with `user update mallory --email ADDRESS`\)$/m);
    assert.match(earlier.out, /^Warning: local user imported-2: the name "Mallory \\u202E" contains U\+202E: .*fix it with `user update mallory --name NAME`\)$/m);
    assert.equal((await stored('mallory'))!.email, 'al\u200bice@example.org');
    assert.equal((await cli('user', 'update', 'mallory', '--email', 'mallory@example.org', '--name', 'Mallory')).code, 0);
  });
});

import { cliInProcess } from '../helpers/cli.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/load.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { localUsers } from '../../src/directory/local-users.ts';
import type { Store } from '../../src/store/store.ts';

let dir: string;
let store: Store;
const box = new SecretBox(randomBytes(32));
const cli = (...words: string[]) => cliInProcess({ config: () => parseConfig({ dataDir: dir }), store: async () => store, box: () => box, clock: systemClock }, words);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-group-transfer-'));
  store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(box) }).open();
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('config export and import take a local user in a group that user add now refuses as saved, naming the command that removes it', async () => {
  assert.equal((await cli('user', 'add', 'kai', '--group', 'staff')).code, 0);
  // As an earlier version stored it: user add took any group name.
  const kai = (await localUsers(store).list()).find((record) => record.username === 'kai')!;
  await localUsers(store).update(kai.id, (record) => ({ ...record, groups: [...record.groups, 'contr\u200Bactors'] }));
  const passwordFile = join(dir, 'export.pw');
  await writeFile(passwordFile, 'export password 42\n', { mode: 0o600 });
  const exportFile = join(dir, 'groups.export');
  const finding = /local user \S+: the group "contr\\u200Bactors" contains U\+200B: control, invisible and text-direction characters are not allowed in a group name.*\(accepted: an earlier version allowed this; fix it with `user update kai --remove-group GROUP`/;

  const exported = await cli('config', 'export', '--out', exportFile, '--password-file', passwordFile);
  assert.equal(exported.code, 0, exported.err);
  assert.match(exported.err, finding);
  assert.equal((await cli('user', 'remove', 'kai')).code, 0);
  const imported = await cli('config', 'import', '--in', exportFile, '--password-file', passwordFile);
  assert.equal(imported.code, 0, imported.err);
  assert.match(`${imported.out}\n${imported.err}`, finding);
  assert.match(imported.out, /1 added/);
  assert.deepEqual((await localUsers(store).list()).find((record) => record.username === 'kai')!.groups, ['staff', 'contr\u200Bactors']);
});

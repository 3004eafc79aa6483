import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';

const SECRET_KEY = randomBytes(32).toString('base64');

/**
 * A typo in a username (bobb) made the user commands fail as a fault does, "Error: no local user
 * bobb", where mfa unlock and user unlock say in plain words that the directory has no such user.
 */
test('the user commands that name a user refuse a name no local user has in one plain line, exit 1, and change nothing', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const work = await mkdtemp(join(tmpdir(), 'stepgate-unknown-user-'));
  try {
    const passwordFile = join(work, 'new.pw');
    await writeFile(passwordFile, 'a-long-Passw0rd-1\n');
    for (const words of [['user', 'update', 'bobb', '--name', 'Bob'], ['user', 'set-password', 'bobb', '--password-file', passwordFile], ['user', 'disable', 'bobb'], ['user', 'enable', 'bobb'], ['user', 'show', 'bobb'], ['user', 'remove', 'bobb']]) {
      assert.deepEqual(await cliProcess(app, SECRET_KEY, words), { code: 1, out: '', err: 'No user "bobb" in the local directory.' }, words.join(' '));
    }
    assert.deepEqual((await app.services.store.audit.query({ limit: 10 })).events, []);
    assert.equal((await cliProcess(app, SECRET_KEY, ['user', 'update', 'bobb', '--plicy', 'x'])).code, 2, 'a usage error is still one');
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
});

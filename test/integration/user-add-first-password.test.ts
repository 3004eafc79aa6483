import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';

const SECRET_KEY = randomBytes(32).toString('base64');

test('user add with a password says and audits one thing, the add; set-password after it is still its own event', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const work = await mkdtemp(join(tmpdir(), 'stepgate-user-add-password-'));
  const cli = (...words: string[]) => cliProcess(app, SECRET_KEY, words);
  const events = async () => (await app.services.store.audit.query({ limit: 50 })).events.map(({ type, username, changed, mustChange }) => ({ type, username, changed, mustChange }));
  try {
    const [passwordFile, nextPasswordFile] = [join(work, 'first.pw'), join(work, 'next.pw')];
    await writeFile(passwordFile, 'a-long-Passw0rd-1\n');
    await writeFile(nextPasswordFile, 'another-long-Passw0rd-2\n');

    const added = await cli('user', 'add', 'kim', '--email', 'kim@example.org', '--password-file', passwordFile);
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /^Added kim \(id \S+\)\.\nGroups: none$/, 'no "Password set", no sessions to end: the account is new');
    assert.equal(added.err, '');
    const mustChange = await cli('user', 'add', 'lee', '--must-change', '--password-file', passwordFile);
    assert.match(mustChange.out, /^Added lee \(id \S+\)\.\nGroups: none$/);
    assert.deepEqual(await events(), [
      { type: 'user.add', username: 'kim', changed: ['email', 'password'], mustChange: undefined },
      { type: 'user.add', username: 'lee', changed: ['mustChangePassword', 'password'], mustChange: undefined },
    ]);
    assert.equal(JSON.parse((await cli('user', 'show', 'kim')).out).hasPassword, true);

    const reset = await cli('user', 'set-password', 'kim', '--password-file', nextPasswordFile);
    assert.equal(reset.out, 'Password set for kim.\nkim had no live SSO session to end.');
    assert.deepEqual((await events()).at(-1), { type: 'user.set-password', username: 'kim', changed: undefined, mustChange: false });
    assert.equal((await cli('audit', '--type', 'user.set-password')).out.split('\n').length, 1, 'the helpdesk\'s list of resets holds the reset only');
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
});

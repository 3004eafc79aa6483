import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A web request's events share its requestId; the CLI's carried nothing of the kind, so the events
 * of one command (user update with a password writes two) could not be told from another command's
 * run at the same moment by someone else.
 */
test('every audit event of one CLI run carries the same commandId, and another run another one', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const work = await mkdtemp(join(tmpdir(), 'stepgate-command-id-'));
  try {
    const [first, second] = [join(work, 'first.pw'), join(work, 'second.pw')];
    await writeFile(first, 'a-long-Passw0rd-1\n');
    await writeFile(second, 'another-long-Passw0rd-2\n');
    for (const words of [['user', 'add', 'alice', '--password-file', first], ['user', 'update', 'alice', '--name', 'Alice Doe', '--password-file', second], ['user', 'disable', 'alice']]) {
      const run = await cliProcess(app, SECRET_KEY, words);
      assert.equal(run.code, 0, run.err);
    }
    const events = (await app.services.store.audit.query({ limit: 10 })).events.map(({ type, commandId }) => ({ type, commandId }));
    assert.deepEqual(events.map((event) => event.type), ['user.add', 'user.update', 'user.set-password', 'user.disable']);
    for (const { commandId } of events) assert.match(String(commandId), UUID);
    const [add, update, setPassword, disable] = events.map((event) => event.commandId);
    assert.equal(update, setPassword, 'one run, one id');
    assert.equal(new Set([add, update, disable]).size, 3, 'each run its own id');
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
});

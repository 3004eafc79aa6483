import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { TotpStateStore, afterSuccess } from '../../src/mfa/totp/totp-state.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

const sealer = testSealer(randomBytes(32));

test("mfa unlock keeps the step of a code the server accepted after the command started, so that code stays used", () =>
  withTempDir('stepgate-totp-unlock-', async (dir) => {
    const clock = { now: () => Date.now() };
    const path = join(dir, 'kv.journal');
    const server = new JournalKeyValue(path, clock, { sealer });
    await server.open();
    const cli = new JournalKeyValue(path, clock, { sealer, owner: false });
    await cli.open();
    // The user's code of step 1000 is accepted by the server while the command looks the user up.
    await new TotpStateStore(server).update('alice', (state) => ({ next: afterSuccess(state, clock.now(), '198.51.100.1', 1000), result: undefined }));
    await new TotpStateStore(cli).unlock('alice');
    await cli.close();
    await server.catchUp();
    const state = await new TotpStateStore(server).read('alice');
    assert.equal(state.lastStep, 1000);
    assert.equal(state.failures, 0);
    await server.close();
  }));

test("a code the server accepts after mfa unlock wrote its line, before the server read it, keeps its step", (t) =>
  withTempDir('stepgate-totp-unlock-', async (dir) => {
    // The tailer's timer is held, so the server surely accepts the code before it reads the unlock.
    mock.timers.enable({ apis: ['setInterval'] });
    t.after(() => mock.timers.reset());
    const clock = { now: () => Date.now() };
    const path = join(dir, 'kv.journal');
    const server = new JournalKeyValue(path, clock, { sealer });
    await server.open();
    await new TotpStateStore(server).update('alice', (state) => ({ next: afterSuccess(state, clock.now(), '198.51.100.1', 999), result: undefined }));
    const cli = new JournalKeyValue(path, clock, { sealer, owner: false });
    await cli.open();
    await new TotpStateStore(cli).unlock('alice');
    await cli.close();
    // Before the server's tailer reads the unlock (every half second), the user's next code is accepted.
    await new TotpStateStore(server).update('alice', (state) => ({ next: afterSuccess(state, clock.now(), '198.51.100.1', 1000), result: undefined }));
    await server.catchUp();
    assert.equal((await new TotpStateStore(server).read('alice')).lastStep, 1000);
    await server.close();
  }));

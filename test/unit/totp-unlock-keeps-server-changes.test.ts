import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TotpStateStore, afterSuccess } from '../../src/mfa/totp/totp-state.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';
import { openServerAndCli } from '../helpers/journal-pair.ts';

const sealer = testSealer(randomBytes(32));

test("mfa unlock keeps the step of a code the server accepted after the command started, so that code stays used", () =>
  withTempDir('stepgate-totp-unlock-', async (dir) => {
    const { server, cli } = await openServerAndCli(dir, sealer);
    // The user's code of step 1000 is accepted by the server while the command looks the user up.
    await new TotpStateStore(server).update('alice', (state) => ({ next: afterSuccess(state, Date.now(), '198.51.100.1', 1000), result: undefined }));
    await new TotpStateStore(cli).unlock('alice');
    await cli.close();
    await server.catchUp();
    const state = await new TotpStateStore(server).read('alice');
    assert.equal(state.lastStep, 1000);
    assert.equal(state.failures, 0);
    await server.close();
  }));

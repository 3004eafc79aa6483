import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

// A CLI whose write the disk cut short (ENOSPC after part of it, or a kill -9 during a large write)
// leaves part of a line at the end of the journal, and exits. The running server's next write went
// straight after that fragment: glued onto it, the server's line was refused at the next start, and
// what it held (sessions, tokens, replay markers answered as saved) was gone.
const sealer = testSealer();
const clock = { now: () => Date.now() };
const FRAGMENT = 'E\tabcdef\tv1.AAAA';

test("a line another process left cut short does not take the server's next write with it, however soon that write comes (a busy server writes every few ms)", () =>
  withTempDir('stepgate-foreign-torn-', async (dir) => {
    const path = join(dir, 'kv.journal');
    const server = new JournalKeyValue(path, clock, { sealer });
    await server.open();
    await server.set('sessions', 'a', { v: 1 });
    await appendFile(path, FRAGMENT);
    await server.set('sessions', 'b', { v: 2 });
    await server.close();

    const restarted = new JournalKeyValue(path, clock, { sealer });
    await restarted.open();
    assert.deepEqual(await restarted.get('sessions', 'b'), { v: 2 }, 'the write answered as saved is there after a restart');
    assert.deepEqual(await restarted.get('sessions', 'a'), { v: 1 });
    assert.equal(restarted.rejectedLines, 1, 'only the fragment is set aside');
    await restarted.close();
  }));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileLock } from '../../src/store/file-lock.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

// A CLI cut off by a power cut during a write leaves db.json.lock with its pid; after the reboot that
// pid is often a live process (pid 1 always is), and the next server start waited 10 s, then failed:
// "db.json.lock has been locked for over 10 s by a running process". A backup taken during a write and
// restored on another host did the same.
const ANOTHER_BOOT = '1 abcdefghi.jklmnopqr 00000000-0000-4000-8000-000000000000';

test('a lock written under another boot of the machine is taken over at once, though its pid is alive now', { skip: process.platform !== 'linux' }, () =>
  withTempDir('stepgate-lock-boot-', async (dir) => {
    const path = join(dir, 'db.json.lock');
    await writeFile(path, ANOTHER_BOOT);
    const started = Date.now();
    let token = '';
    await new FileLock(path).hold(async () => {
      token = await readFile(path, 'utf8');
    });
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    const thisBoot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    assert.equal(token.split(' ')[2], thisBoot, 'the new holder records this boot');
  }));

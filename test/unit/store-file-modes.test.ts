import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { AppendFile } from '../../src/store/append-file.ts';
import { FileLock } from '../../src/store/file-lock.ts';

const clock = { now: () => Date.now() };
const sealer = testSealer();
const modeOf = async (path: string): Promise<string> => ((await stat(path)).mode & 0o777).toString(8);

let base: string;
let umaskBefore: number;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'stepgate-modes-'));
  umaskBefore = process.umask(0o022);
});
after(async () => {
  process.umask(umaskBefore);
  await rm(base, { recursive: true, force: true });
});

describe('files in the data directory are private to the server user', () => {
  test('umask 022, a pre-created 0755 directory and 0644 files: directory 0700, every file 0600 after writes, a log rotation and a compaction', async () => {
    process.umask(0o022);
    const dir = join(base, 'data');
    await mkdir(dir);
    await chmod(dir, 0o755);
    for (const name of ['kv.journal', 'audit.log']) await writeFile(join(dir, name), '', { mode: 0o644 });
    await writeFile(join(dir, 'db.json'), JSON.stringify({ version: 1, collections: {} }), { mode: 0o644 });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

    const store = await new LowdbStore(dir, clock, { sealer, logger }).open();
    await store.collection<{ id: string }>('things').put({ id: 'written' });
    await store.kv.set('sessions', 'cookie-value', { user: 'alice' });
    await store.audit.record({ type: 'login.password', outcome: 'success' });
    await rename(join(dir, 'audit.log'), join(dir, 'audit.log.1'));
    await store.reopenLogs();
    await store.audit.record({ type: 'login.password', outcome: 'success' });
    await store.close();
    const reopened = await new LowdbStore(dir, clock, { sealer }).open(); // the owner compacts the journal at open
    await reopened.collection<{ id: string }>('things').put({ id: 'written-again' });
    await reopened.close();

    assert.equal(await modeOf(dir), '700');
    const names = await readdir(dir);
    assert.deepEqual(names.sort(), ['audit.log', 'audit.log.1', 'db.json', 'kv.journal']);
    for (const name of names) assert.equal(await modeOf(join(dir, name)), '600', name);
    const warning = lines.find((line) => line['event'] === 'store.data-dir.private');
    assert.equal(warning?.['level'], 40);
    assert.equal(warning?.['mode'], '755');
  });

  test('under umask 000 the journal, its compaction file (even a stale one) and lock files are created 0600', async () => {
    process.umask(0);
    const path = join(base, 'umask-000.journal');
    await writeFile(`${path}.tmp`, 'left by a crash', { mode: 0o666 });
    const file = new AppendFile(path);
    await file.open();
    await file.append('one');
    assert.equal(await modeOf(path), '600');
    await file.rewrite(() => ['compacted']);
    assert.equal(await modeOf(path), '600', 'the compacted file renamed over the journal');
    await file.close();

    const lock = new FileLock(join(base, 'umask-000.lock'));
    assert.equal(await lock.hold(() => modeOf(lock.path)), '600');
  });
});

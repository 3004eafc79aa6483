import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, open, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { AppendFile } from '../../src/store/append-file.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

const sealer = testSealer(randomBytes(32));
const clock = { now: () => Date.now() };

const withDir = <T>(run: (dir: string) => Promise<T>): Promise<T> => withTempDir('stepgate-full-disk-', run);

/** The journal at `path`, opened. */
async function openJournal(path: string, logger?: Logger): Promise<JournalKeyValue> {
  const kv = new JournalKeyValue(path, clock, { sealer, ...(logger ? { logger } : {}) });
  await kv.open();
  return kv;
}

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, events: (name: string) => lines.filter((line) => line.event === name) };
}

/**
 * A full disk for the files whose path `full` picks: every write(2) through a FileHandle to them fails
 * with ENOSPC, as the kernel answers once no block is left. Node's FileHandle is the one way the store
 * writes its journal, so this is the system call's answer, seen by the real AppendFile and journal.
 */
async function diskFullFor(full: (path: string) => boolean, beforeFailing: () => Promise<void> = async () => undefined): Promise<{ restore: () => void; failures: () => number }> {
  const probe = await open(join(tmpdir(), `stepgate-probe-${process.pid}`), 'w');
  const fileHandle = Object.getPrototypeOf(probe) as { write: (this: { fd: number }, ...args: unknown[]) => Promise<unknown> };
  await probe.close();
  await rm(join(tmpdir(), `stepgate-probe-${process.pid}`));
  const original = fileHandle.write;
  let failures = 0;
  fileHandle.write = async function (this: { fd: number }, ...args: unknown[]) {
    const path = await readlink(`/proc/self/fd/${this.fd}`).catch(() => '');
    if (full(path)) {
      failures += 1;
      await beforeFailing();
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    return original.apply(this, args);
  };
  return { restore: () => void (fileHandle.write = original), failures: () => failures };
}

describe('a compaction that does not fit on the disk', () => {
  test('removes what it wrote, and the journal and later writes go on', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const file = new AppendFile(path);
      await file.open();
      await file.append('line 1');
      const disk = await diskFullFor((written) => written.endsWith('.tmp'));
      try {
        await assert.rejects(file.rewrite(() => ['snapshot line']), /ENOSPC/);
      } finally {
        disk.restore();
      }
      assert.deepEqual(await readdir(dir), ['kv.journal'], 'no kv.journal.tmp left holding the space');
      await file.append('line 2');
      await file.close();
      assert.equal(await readFile(path, 'utf8'), 'line 1\nline 2\n');
    }));

  test('an append that fails while a rewrite runs stops that rewrite: its change may be in the snapshot though its writer was told it failed', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const file = new AppendFile(path);
      await file.open();
      await file.append('line 1');
      let failedAppend: Promise<unknown> | undefined;
      // The snapshot is read from memory while the rewrite runs: a change already applied there is in it.
      function* snapshot() {
        yield 'line 1';
        yield 'line 2 (in memory, its append about to fail)';
      }
      const disk = await diskFullFor((written) => written === path);
      try {
        const rewrite = file.rewrite(() => {
          failedAppend = file.append('line 2 (in memory, its append about to fail)').catch((error: unknown) => error);
          return snapshot();
        });
        await assert.rejects(rewrite, /ENOSPC/);
        assert.match(String(await failedAppend), /ENOSPC/);
      } finally {
        disk.restore();
      }
      assert.deepEqual(await readdir(dir), ['kv.journal'], 'no swap, no temporary file');
      await file.close();
      assert.equal(await readFile(path, 'utf8'), 'line 1\n', 'the journal holds nothing its writers were told failed');
    }));

  test('at start: the server starts on the journal as it is, with a warning, and compacts once there is space', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = await openJournal(path);
      for (let i = 0; i < 50; i++) await kv.set('sessions', `s${i}`, { i });
      await kv.close();
      const journalBefore = await readFile(path, 'utf8');

      const { logger, events } = capturingLogger();
      const reopened = new JournalKeyValue(path, clock, { sealer, logger });
      const disk = await diskFullFor((written) => written.endsWith('.tmp'));
      try {
        await reopened.open();
      } finally {
        disk.restore();
      }
      assert.ok(disk.failures() > 0, 'the start compaction tried to write');
      assert.equal(events('store.journal.compaction-failed').length, 1);
      assert.equal(events('store.journal.compaction-failed')[0]!.level, 40, 'a warning');
      assert.deepEqual(await readdir(dir), ['kv.journal']);
      assert.equal(await reopened.count('sessions'), 50, 'every entry was read');
      await reopened.set('sessions', 'after', { i: 'after' });
      await reopened.close();
      assert.ok((await readFile(path, 'utf8')).startsWith(journalBefore), 'the journal was kept as it was, and appended to');

      const third = await openJournal(path);
      assert.equal(await third.count('sessions'), 51);
      await third.close();
    }));

  test('at start, any other failure still stops the start', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = await openJournal(path);
      await kv.set('sessions', 's', { i: 1 });
      await kv.close();
      await mkdir(`${path}.tmp`); // cannot be opened for writing: EISDIR
      await assert.rejects(new JournalKeyValue(path, clock, { sealer }).open(), /EISDIR/);
    }));
});

describe('a journal append that fails leaves memory as the journal holds it', () => {
  test('a failed set keeps the previous value, a failed delete and consume keep the entry', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = await openJournal(path);
      await kv.set('sessions', 'kept', { v: 1 });
      await kv.set('codes', 'code', { v: 'once' });
      const disk = await diskFullFor((written) => written === path);
      try {
        const set = kv.set('sessions', 'kept', { v: 2 });
        assert.deepEqual(await kv.get('sessions', 'kept'), { v: 2 }, 'seen at once while the append is under way');
        await assert.rejects(set, /ENOSPC/);
        assert.deepEqual(await kv.get('sessions', 'kept'), { v: 1 });
        await assert.rejects(kv.set('sessions', 'new', { v: 1 }), /ENOSPC/);
        assert.equal(await kv.get('sessions', 'new'), undefined);
        await assert.rejects(kv.delete('sessions', 'kept'), /ENOSPC/);
        assert.deepEqual(await kv.get('sessions', 'kept'), { v: 1 });
        await assert.rejects(kv.consume('codes', 'code'), /ENOSPC/);
        assert.deepEqual(await kv.get('codes', 'code'), { v: 'once' });
        assert.equal(await kv.compareAndSet('sessions', 'kept', { v: 2 }, { v: 3 }), false, 'compare-and-set sees the value the journal holds');
        // Two changes of one key under way together, both refused: back to the value before both.
        const [first, second] = [kv.set('sessions', 'kept', { v: 4 }), kv.delete('sessions', 'kept')];
        await assert.rejects(first, /ENOSPC/);
        await assert.rejects(second, /ENOSPC/);
        assert.deepEqual(await kv.get('sessions', 'kept'), { v: 1 });
      } finally {
        disk.restore();
      }
      assert.deepEqual(await kv.consume('codes', 'code'), { v: 'once' });
      await kv.close();

      const reopened = await openJournal(path);
      assert.deepEqual(await reopened.get('sessions', 'kept'), { v: 1 }, 'memory before the restart was what the restart finds');
      assert.equal(await reopened.get('codes', 'code'), undefined);
      await reopened.close();
    }));

  test('a later change that succeeded is not undone by an earlier one failing', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = await openJournal(path);
      await kv.set('sessions', 'k', { v: 1 });
      let reached!: () => void;
      const atWrite = new Promise<void>((resolve) => (reached = resolve));
      let failNow!: () => void;
      const released = new Promise<void>((resolve) => (failNow = resolve));
      const disk = await diskFullFor((written) => written === path, async () => {
        reached();
        await released;
      });
      const failed = kv.set('sessions', 'k', { v: 2 });
      await atWrite;
      disk.restore();
      // Made while the first append is under way: its own write(2) comes after, and finds space again.
      const later = kv.set('sessions', 'k', { v: 3 });
      failNow();
      await assert.rejects(failed, /ENOSPC/);
      await later;
      assert.deepEqual(await kv.get('sessions', 'k'), { v: 3 });
      await kv.close();
      const reopened = await openJournal(path);
      assert.deepEqual(await reopened.get('sessions', 'k'), { v: 3 });
      await reopened.close();
    }));
});

describe('db.json: a write that fails', () => {
  test('leaves the records as the file holds them, and no temporary file', () =>
    withDir(async (dir) => {
      const store = await new LowdbStore(dir, clock, { sealer }).open();
      const enrolments = store.collection<{ id: string; secret?: string }>('mfa-totp');
      await enrolments.put({ id: 'alice', secret: 'one' });
      // Where lowdb writes the new file before its rename: a directory there makes that write fail.
      await mkdir(join(dir, '.db.json.tmp'));
      await assert.rejects(enrolments.put({ id: 'bob', secret: 'two' }));
      await assert.rejects(enrolments.update('alice', (record) => ({ ...record, secret: 'changed' })));
      assert.equal(await enrolments.get('bob'), undefined, 'not enrolled: the write was refused');
      assert.deepEqual(await enrolments.get('alice'), { id: 'alice', secret: 'one' });
      assert.deepEqual((await enrolments.list()).map((record) => record.id), ['alice']);
      await rm(join(dir, '.db.json.tmp'), { recursive: true });
      await enrolments.put({ id: 'carol' });
      assert.deepEqual((await enrolments.list()).map((record) => record.id).sort(), ['alice', 'carol']);
      await store.close();
    }));

  test('a temporary file left by a write that was cut off is removed at open', () =>
    withDir(async (dir) => {
      const store = await new LowdbStore(dir, clock, { sealer }).open();
      await store.close();
      await writeFile(join(dir, '.db.json.tmp'), '{"version":1,"coll');
      const again = await new LowdbStore(dir, clock, { sealer }).open();
      await again.close();
      assert.ok(!(await readdir(dir)).includes('.db.json.tmp'));
    }));
});

describe('the lines a start finds damaged or cut off', () => {
  test('a torn last line is kept aside with a warning giving its size, and dropped from the journal', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = await openJournal(path);
      await kv.set('sessions', 'whole', { v: 1 });
      await kv.set('sessions', 'torn', { v: 2 });
      await kv.close();
      const text = await readFile(path, 'utf8');
      const cut = text.length - 30;
      await writeFile(path, text.slice(0, cut));
      const fragment = text.slice(text.lastIndexOf('\n', cut - 1) + 1, cut);

      const { logger, events } = capturingLogger();
      const reopened = await openJournal(path, logger);
      assert.deepEqual(await reopened.get('sessions', 'whole'), { v: 1 });
      assert.equal(await reopened.get('sessions', 'torn'), undefined);
      const [warning] = events('store.journal.torn');
      assert.equal(warning?.level, 40);
      assert.equal(warning?.bytes, Buffer.byteLength(fragment));
      assert.equal(await readFile(reopened.rejectedPath, 'utf8'), `${fragment}\n`, 'kept as it was (sealed)');
      await reopened.close();
      assert.ok(!(await readFile(path, 'utf8')).includes(fragment));
    }));

  test('damaged lines are kept aside once, also when a start fails before its compaction', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = await openJournal(path);
      await kv.set('sessions', 'a', { v: 1 });
      await kv.close();
      await appendFile(path, 'GARBAGE LINE\n');
      await mkdir(`${path}.tmp`); // the start fails: its compaction cannot write
      await assert.rejects(new JournalKeyValue(path, clock, { sealer }).open());
      await assert.rejects(new JournalKeyValue(path, clock, { sealer }).open());
      await rm(`${path}.tmp`, { recursive: true });
      for (let start = 0; start < 2; start++) {
        const reopened = await openJournal(path);
        await reopened.close();
      }
      const kept = (await readFile(`${path}.rejected`, 'utf8')).split('\n').filter(Boolean);
      assert.equal(kept.length, 1);
      assert.equal(sealer.open(kept[0]!.split('\t')[2]!), 'GARBAGE LINE');
    }));
});

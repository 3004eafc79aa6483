import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { BufferedFileWriter } from '../../src/store/buffered-file-writer.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

const sealer = testSealer(randomBytes(32));
const withDir = <T>(run: (dir: string) => Promise<T>): Promise<T> => withTempDir('stepgate-large-', run);

describe('journal lines longer than its read and write buffers', () => {
  test('a value of several megabytes survives the replay at open, the compaction and a second open', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const clock = { now: () => 1_000_000 };
      const kv = new JournalKeyValue(path, clock, { sealer });
      await kv.open();
      // One sealed line of about 4 MB: longer than the 1 MB read buffer and the 1 MB rewrite buffer,
      // with multi-byte characters so that no buffer edge falls on a character boundary by luck.
      const large = { text: 'é€😀x'.repeat(300_000) };
      await kv.set('ns', 'before', { n: 1 });
      await kv.set('ns', 'large', large);
      await kv.set('ns', 'after', { n: 2 });
      await kv.close();
      assert.ok((await readFile(path)).length > 3 * (1 << 20), 'the journal line of the large value spans several read buffers');

      const reopened = new JournalKeyValue(path, clock, { sealer });
      await reopened.open();
      assert.deepEqual(await reopened.get('ns', 'large'), large);
      assert.deepEqual(await reopened.get('ns', 'before'), { n: 1 });
      assert.deepEqual(await reopened.get('ns', 'after'), { n: 2 });
      await reopened.close();

      const again = new JournalKeyValue(path, clock, { sealer });
      await again.open();
      assert.deepEqual(await again.get('ns', 'large'), large);
      assert.equal(await again.count('ns'), 3);
      await again.close();
    }));
});

describe('BufferedFileWriter', () => {
  test('writes every line whole and in order, across buffer edges, multi-byte characters and lines longer than the buffer', () =>
    withDir(async (dir) => {
      const path = join(dir, 'out');
      const handle = await open(path, 'w');
      const writer = new BufferedFileWriter(handle, 64);
      const lines = ['', 'a', 'é€😀'.repeat(5), 'x'.repeat(63), 'y'.repeat(64), '😀'.repeat(40), 'z'.repeat(200), 'end'];
      for (const line of lines) await writer.writeLine(line);
      await writer.flush();
      await writer.flush(); // nothing left: writes nothing
      await handle.close();
      const written = await readFile(path);
      assert.equal(written.toString('utf8'), lines.map((line) => line + '\n').join(''));
      assert.equal(writer.written, written.length);
    }));
});

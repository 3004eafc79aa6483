import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppendFile } from '../../src/store/append-file.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

/**
 * An append made while a rewrite runs is already a whole line, newline included; the rewrite copies
 * it after the snapshot as it is. The file is read back byte for byte here (not line by line with
 * empty lines dropped): each line once, each followed by exactly one newline.
 */
test('appends made during a rewrite are copied after the snapshot with one newline each, no empty line', () =>
  withTempDir('stepgate-append-rewrite-', async (dir) => {
    const path = join(dir, 'log');
    const file = new AppendFile(path);
    await file.open();
    await file.append('old line');
    const appends: Array<Promise<void>> = [];
    const snapshotLines = 60_000;
    // About 6 MB, several writes of the rewrite's buffer: the appends land while it runs.
    function* snapshot() {
      for (let i = 0; i < snapshotLines; i++) {
        if (i === 100 || i === 30_000) appends.push(file.append(`appended during the rewrite at ${i}`));
        yield `snapshot ${i} ${'x'.repeat(90)}`;
      }
    }
    await file.rewrite(snapshot);
    await Promise.all(appends);
    await file.append('appended after');
    await file.close();
    const text = await readFile(path, 'utf8');
    const expected = [...Array.from({ length: snapshotLines }, (_, i) => `snapshot ${i} ${'x'.repeat(90)}`), 'appended during the rewrite at 100', 'appended during the rewrite at 30000', 'appended after'];
    assert.ok(!text.includes('\n\n'), 'no empty line');
    assert.equal(text, expected.join('\n') + '\n');
  }));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { JournalReplay } from '../../src/store/journal-replay.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

/**
 * JournalReplay.replayRange reads the bytes between its two offsets and no further. The file may
 * have grown past `end` since its size was taken (another process appending): those lines belong to
 * the next round of the tail (or, at start, past a torn line that is kept aside from `read` to `size`),
 * and replayed now they would be applied out of turn and counted past the end the caller gave.
 */
test('a replay of a range applies the lines within it only, and returns the bytes they span', () =>
  withTempDir('stepgate-replay-range-', async (dir) => {
    const path = join(dir, 'kv.journal');
    const key = randomBytes(32);
    const clock = { now: () => 1_000_000 };
    const kv = new JournalKeyValue(path, clock, { sealer: testSealer(key) });
    await kv.open();
    // About 3 MB: the range below ends in the replay's second chunk of a megabyte, with lines after it.
    const count = 300;
    for (let i = 0; i < count; i++) await kv.set('range-test', `k${i}`, `${'v'.repeat(8_000)} ${i}`);
    await kv.close();

    const text = await readFile(path);
    const lineEnds: number[] = [];
    for (let at = text.indexOf(0x0a); at >= 0; at = text.indexOf(0x0a, at + 1)) lineEnds.push(at + 1);
    const applied: string[] = [];
    const replay = new JournalReplay(path, { sealer: testSealer(key), writer: 'reader', clock, logger: undefined, apply: (namespace, entryKey) => void (namespace === 'range-test' && applied.push(entryKey)) });
    const end = lineEnds[Math.floor(lineEnds.length / 2)]!;
    assert.ok(end > 1 << 20 && text.length - end > 1 << 20, 'the range ends in the second megabyte, a megabyte before the end of the file');
    const consumed = await replay.replayRange(0, end, 'start');
    assert.equal(consumed, end, 'the bytes of the range, no more');
    assert.ok(applied.length > 0 && applied.length < count, `only the lines before the end were applied: ${applied.length}`);
    assert.deepEqual(applied, Array.from({ length: applied.length }, (_, i) => `k${i}`));

    const rest: string[] = [];
    const tail = new JournalReplay(path, { sealer: testSealer(key), writer: 'reader', clock, logger: undefined, apply: (namespace, entryKey) => void (namespace === 'range-test' && rest.push(entryKey)) });
    assert.equal(await tail.replayRange(end, text.length, 'tail'), text.length - end);
    assert.deepEqual([...applied, ...rest], Array.from({ length: count }, (_, i) => `k${i}`), 'the next range takes up exactly where it ended');
  }));

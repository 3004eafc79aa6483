import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { AppendFile } from '../../src/store/append-file.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

// A journal whose last line a crash cut short: the next writer ends that line with a bare newline.
// Since each write is sealed as a record, an empty line written to end it became a sealed record of
// nothing, glued onto the fragment (or, standing alone, read back as a damaged line).
const sealer = testSealer();
const clock = { now: () => 1_000_000 };
const FRAGMENT = 'E\tabcdef\tv1.AAAA';

test('a CLI opening a journal with a torn last line writes nothing until its first change, which starts on a new line', () =>
  withTempDir('stepgate-torn-', async (dir) => {
    const path = join(dir, 'kv.journal');
    const server = new JournalKeyValue(path, clock, { sealer });
    await server.open();
    await server.set('users', 'a', { v: 1 });
    await server.close();
    await appendFile(path, FRAGMENT);
    const { size } = await stat(path);

    const cli = new JournalKeyValue(path, clock, { sealer, owner: false });
    await cli.open();
    assert.equal((await stat(path)).size, size, 'opening writes nothing');
    await cli.set('users', 'b', { v: 2 });
    await cli.close();
    const [torn, change] = (await readFile(path, 'utf8')).split('\n').slice(-3, -1);
    assert.equal(torn, FRAGMENT, 'the fragment ends where it was cut');
    assert.match(change!, /^E\t/, 'the change is the next line');

    const reopened = new JournalKeyValue(path, clock, { sealer });
    await reopened.open();
    assert.equal(reopened.rejectedLines, 1, 'only the fragment');
    assert.deepEqual(await reopened.get('users', 'b'), { v: 2 });
    await reopened.close();
  }));

test('endTornLine: the next write starts with a newline, passed by the records hook untouched', () =>
  withTempDir('stepgate-torn-', async (dir) => {
    const path = join(dir, 'file');
    await appendFile(path, 'cut sho');
    const file = new AppendFile(path, 'owner', (lines) => [`sealed(${lines.join('|')})`]);
    await file.open();
    file.endTornLine();
    await Promise.all([file.append('a'), file.append('b')]);
    await file.append('c');
    await file.close();
    assert.equal(await readFile(path, 'utf8'), 'cut sho\nsealed(a|b)\nsealed(c)\n');
  }));

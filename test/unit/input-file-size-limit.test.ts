import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputFileError, MAX_INPUT_FILE_BYTES, readInputFile } from '../../src/cli/read-input-file.ts';

const dir = await mkdtemp(join(tmpdir(), 'stepgate-input-file-'));
after(() => rm(dir, { recursive: true, force: true }));

/** Reads of `fs.readSync` made while `run` runs, as the module's own `import { readSync }` sees them. */
function countingReads<T>(run: () => T): { result: T; reads: number } {
  const original = fs.readSync;
  let reads = 0;
  fs.readSync = ((...args: Parameters<typeof fs.readSync>) => {
    reads += 1;
    return original(...args);
  }) as typeof fs.readSync;
  syncBuiltinESMExports();
  try {
    return { result: run(), reads };
  } finally {
    fs.readSync = original;
    syncBuiltinESMExports();
  }
}

test('a regular file over the 64 MB limit is refused before a byte of it is read, however large it is', () => {
  const small = join(dir, 'small.export');
  fs.writeFileSync(small, 'a few bytes');
  const control = countingReads(() => readInputFile(small));
  assert.equal(control.result, 'a few bytes');
  assert.ok(control.reads > 0, 'the count sees the reads of readInputFile');

  // Sparse: 8 GB that take no disk; reading up to the limit before refusing would read 64 MB of it.
  const huge = join(dir, 'huge.export');
  fs.writeFileSync(huge, '');
  fs.truncateSync(huge, 8 * 1024 ** 3);
  const refused = countingReads(() => {
    try {
      readInputFile(huge);
      return undefined;
    } catch (error) {
      return error;
    }
  });
  assert.ok(refused.result instanceof InputFileError, String(refused.result));
  assert.equal(refused.result.message, `${huge} is larger than 64 MB, more than any file the CLI reads can be; it was not read`);
  assert.equal(refused.reads, 0);
});

test('a regular file of exactly 64 MB is read', () => {
  const limit = join(dir, 'limit.export');
  fs.writeFileSync(limit, '');
  fs.truncateSync(limit, MAX_INPUT_FILE_BYTES);
  assert.equal(readInputFile(limit).length, MAX_INPUT_FILE_BYTES);
});

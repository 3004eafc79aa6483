import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { BufferedFileWriter, writeBytes } from '../../src/store/buffered-file-writer.ts';

/**
 * write(2) may write only part of what it is given and say so without an error (a full disk); the
 * rest is tried again. A write that makes no progress at all must end in an error, never in a loop
 * that holds the store (and every sign-in waiting on it) for ever.
 */
function fakeHandle(answers: number[]): { handle: FileHandle; written: Buffer[] } {
  const written: Buffer[] = [];
  const handle = {
    write: async (bytes: Uint8Array, offset: number, length: number) => {
      const next = answers.length > 0 ? answers.shift()! : length;
      const bytesWritten = Math.min(next, length);
      written.push(Buffer.from(bytes.subarray(offset, offset + bytesWritten)));
      return { bytesWritten, buffer: bytes };
    },
  } as unknown as FileHandle;
  return { handle, written };
}

test('a short write is continued where it stopped, and every byte written once, in order', async () => {
  const { handle, written } = fakeHandle([3, 1, 2]);
  assert.equal(await writeBytes(handle, Buffer.from('0123456789')), 10);
  assert.equal(Buffer.concat(written).toString(), '0123456789');
  assert.deepEqual(written.map((chunk) => chunk.length), [3, 1, 2, 4]);
});

test('a write that writes nothing throws, naming what was left', async () => {
  const { handle } = fakeHandle([4, 0]);
  const outcome = await Promise.race([
    writeBytes(handle, Buffer.from('0123456789')).then(
      () => 'resolved',
      (error: Error) => error.message,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('still writing after 2 s'), 2_000)),
  ]);
  assert.equal(outcome, 'wrote nothing of 6 bytes');
});

test('the buffered writer counts the bytes it wrote, through short writes too', async () => {
  const { handle, written } = fakeHandle([5]);
  const writer = new BufferedFileWriter(handle, 16);
  await writer.writeLine('héllo');
  await writer.writeLine('a line longer than the buffer');
  await writer.flush();
  const text = Buffer.concat(written).toString('utf8');
  assert.equal(text, 'héllo\na line longer than the buffer\n');
  assert.equal(writer.written, Buffer.byteLength(text));
});

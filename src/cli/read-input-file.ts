import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The largest file the CLI reads whole (export files, password files): real exports are kilobytes, a
 * few megabytes for thousands of users. Parsing, checking and decrypting take several times a file's
 * size in memory before a wrong password is even noticed, so a bigger one is refused unread.
 */
export const MAX_INPUT_FILE_BYTES = 64 * 1024 * 1024;

/** A pipe hands over at most 64 KB per read; a regular file is read in as few steps as its size allows. */
const CHUNK_BYTES = 1024 * 1024;

/** A file the admin named could not be read, or is too large: the message names it with its full path. */
export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

/**
 * A text file the administrator named, as UTF-8 without a leading byte-order mark: Windows editors
 * put one before "UTF-8" text, where it would become an invisible first character of a password or
 * make JSON unreadable. Read in a loop (pipes and /dev/stdin too) and never more than
 * MAX_INPUT_FILE_BYTES: a larger regular file is refused before anything is read.
 */
export function readInputFile(path: string): string {
  let file: number;
  try {
    file = openSync(path, 'r');
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    if (fstatSync(file).size > MAX_INPUT_FILE_BYTES) throw tooLarge(path);
    const chunks: Buffer[] = [];
    let total = 0;
    // One buffer for every read, and a copy of what each read filled: a pipe fills 64 KB a time, and a
    // fresh 1 MB buffer kept per read would hold 16 times the file.
    const chunk = Buffer.alloc(CHUNK_BYTES);
    for (;;) {
      let read: number;
      try {
        read = readSync(file, chunk, 0, chunk.length, null);
      } catch (error) {
        throw unreadable(path, error);
      }
      if (read === 0) break;
      total += read;
      if (total > MAX_INPUT_FILE_BYTES) throw tooLarge(path);
      chunks.push(Buffer.from(chunk.subarray(0, read)));
    }
    return withoutByteOrderMark(Buffer.concat(chunks, total).toString('utf8'));
  } finally {
    closeSync(file);
  }
}

/** Text without the byte-order mark Windows editors put before "UTF-8" text (see readInputFile). */
export function withoutByteOrderMark(text: string): string {
  return text.replace(/^\uFEFF/, '');
}

function unreadable(path: string, error: unknown): InputFileError {
  return new InputFileError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
}

function tooLarge(path: string): InputFileError {
  return new InputFileError(`${path} is larger than ${MAX_INPUT_FILE_BYTES / 1024 / 1024} MB, more than any file the CLI reads can be; it was not read`);
}

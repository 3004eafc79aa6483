import { closeSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A file the CLI was asked to write and did not: the admin's answer (exit 1), with the full path. */
export class FileWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileWriteError';
  }
}

/** Refused to overwrite a file the admin did not ask to overwrite. */
export class FileExistsError extends FileWriteError {
  constructor(path: string) {
    super(`${path} exists; give --force to overwrite it`);
    this.name = 'FileExistsError';
  }
}

/** The system's reason (a missing folder, no permission), as one line naming the file rather than a stack. */
function cannotWrite(path: string, error: unknown): FileWriteError {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = { ENOENT: 'its folder does not exist', EACCES: 'permission denied', EISDIR: 'it is a folder', ENOTDIR: 'a part of its path is not a folder', EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EFBIG: 'larger than the file size limit' };
  return new FileWriteError(`cannot write ${path}: ${(code && reasons[code]) ?? (error as Error).message}`);
}

/**
 * Writes a file only its owner can read (mode 0600). An existing file is kept unless `overwrite`:
 * then the text goes to a new private file first and replaces the old one in one rename, so the old
 * file's looser mode is never reused and a failure leaves the old file whole. A new file that could
 * not be written whole (a full disk) is removed: left cut short, it would be refused by an import,
 * and would make the same command ask for --force.
 */
export function writePrivateFile(path: string, text: string, options: { overwrite: boolean }): void {
  if (!options.overwrite) {
    let file: number;
    try {
      file = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(path);
      throw cannotWrite(path, error);
    }
    try {
      try {
        writeFileSync(file, text);
      } finally {
        closeSync(file);
      }
    } catch (error) {
      rmSync(path, { force: true });
      throw cannotWrite(path, error);
    }
    return;
  }
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw cannotWrite(path, error);
  }
}

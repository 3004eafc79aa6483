import { closeSync, lstatSync, openSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';
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

/**
 * Something other than a regular file is at the path: --force never replaces it. The file is written
 * next to it and renamed over it, so a symbolic link, a device (/dev/null, or /dev/stdout's link as
 * root) or a named pipe would be swapped for a regular file holding the secrets, not written through.
 */
export class NotARegularFileError extends FileWriteError {
  constructor(path: string, kind: string) {
    super(`cannot write ${path}: it is ${kind}; an export replaces only a regular file, so give the path of a new file or of a regular one`);
    this.name = 'NotARegularFileError';
  }
}

/** The system's reason (a missing folder, no permission), as one line naming the file rather than a stack. */
function cannotWrite(path: string, error: unknown): FileWriteError {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = { ENOENT: 'its folder does not exist', EACCES: 'permission denied', EISDIR: 'it is a folder', ENOTDIR: 'a part of its path is not a folder', EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EFBIG: 'larger than the file size limit' };
  return new FileWriteError(`cannot write ${path}: ${(code && reasons[code]) ?? (error as Error).message}`);
}

/** What stands at a path that is not a regular file, in the admin's words; undefined for a regular file. */
function otherKind(entry: Stats): string | undefined {
  if (entry.isFile()) return undefined;
  if (entry.isSymbolicLink()) return 'a symbolic link';
  if (entry.isDirectory()) return 'a folder';
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return 'a device';
  if (entry.isFIFO()) return 'a named pipe (FIFO)';
  if (entry.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Throws the FileWriteError the write would end in, before the work that makes the text: an existing
 * regular file without `overwrite` (give --force), anything else that exists whatever `overwrite` says.
 * The path itself is looked at (lstat), never what a link points to.
 */
export function checkWritable(path: string, options: { overwrite: boolean }): void {
  let entry: Stats;
  try {
    entry = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw cannotWrite(path, error);
  }
  const kind = otherKind(entry);
  if (kind !== undefined) throw new NotARegularFileError(path, kind);
  if (!options.overwrite) throw new FileExistsError(path);
}

/**
 * Writes a file only its owner can read (mode 0600). An existing file is kept unless `overwrite`:
 * then the text goes to a new private file first and replaces the old one in one rename, so the old
 * file's looser mode is never reused and a failure leaves the old file whole. Only a regular file is
 * replaced (see NotARegularFileError). A new file that could not be written whole (a full disk) is
 * removed: left cut short, it would be refused by an import, and would make the same command ask for --force.
 */
export function writePrivateFile(path: string, text: string, options: { overwrite: boolean }): void {
  if (!options.overwrite) {
    let file: number;
    try {
      file = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') checkWritable(path, options);
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
  checkWritable(path, options);
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw cannotWrite(path, error);
  }
}

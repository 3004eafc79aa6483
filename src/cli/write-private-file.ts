import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Refused to overwrite a file the admin did not ask to overwrite. */
export class FileExistsError extends Error {
  constructor(path: string) {
    super(`${path} exists; give --force to overwrite it`);
    this.name = 'FileExistsError';
  }
}

/**
 * Writes a file only its owner can read (mode 0600). An existing file is kept unless `overwrite`:
 * then the text goes to a new private file first and replaces the old one in one rename, so the old
 * file's looser mode is never reused and a failure leaves the old file whole.
 */
export function writePrivateFile(path: string, text: string, options: { overwrite: boolean }): void {
  if (!options.overwrite) {
    try {
      writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(path);
      throw error;
    }
    return;
  }
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

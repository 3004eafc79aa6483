import type { FileHandle } from 'node:fs/promises';

/**
 * Writes all of `bytes` or throws. write(2) may write only part of them and report the shorter length
 * without an error (a full disk); the rest is tried again, and that try reports the error.
 */
export async function writeBytes(handle: FileHandle, bytes: Uint8Array): Promise<number> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten === 0) throw new Error(`wrote nothing of ${bytes.length - offset} bytes`);
    offset += bytesWritten;
  }
  return bytes.length;
}

/**
 * Writes a large file as lines encoded into one reused buffer, a write(2) each time it fills. A
 * string or a fresh buffer per batch was garbage of a megabyte at a time: the rewrite of a journal
 * of 10,000 sessions raised the server's peak memory by tens of megabytes, which the C heap then
 * kept (freed blocks are kept for reuse, not returned to the system).
 */
export class BufferedFileWriter {
  readonly #handle: FileHandle;
  #buffer: Buffer;
  #used = 0;
  /** Bytes written to the file so far. */
  written = 0;

  constructor(handle: FileHandle, bufferBytes: number) {
    this.#handle = handle;
    this.#buffer = Buffer.allocUnsafe(bufferBytes);
  }

  /** Adds `line` and a newline; writes the buffer first when they do not fit in what is left of it. */
  async writeLine(line: string): Promise<void> {
    const length = Buffer.byteLength(line, 'utf8') + 1;
    if (this.#used + length > this.#buffer.length) {
      await this.flush();
      // A line longer than the whole buffer (a value of several megabytes) gets a buffer of its own size.
      if (length > this.#buffer.length) this.#buffer = Buffer.allocUnsafe(length);
    }
    this.#used += this.#buffer.write(line, this.#used, 'utf8');
    this.#buffer[this.#used++] = 0x0a;
  }

  async flush(): Promise<void> {
    if (this.#used === 0) return;
    this.written += await writeBytes(this.#handle, this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }
}

import { open, type FileHandle } from 'node:fs/promises';
import { AppError } from '../core/errors.ts';
import { MAX_METADATA_BYTES } from './sp-metadata.ts';

const FETCH_TIMEOUT_MS = 10_000;

/** A metadata source that is a URL (fetched) rather than a file. */
export function isUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
}

/**
 * Reads SP metadata from a file or an https URL, never more than MAX_METADATA_BYTES (+1 to detect
 * "too large"). Plain http is refused: metadata is the trust anchor, so it must not be alterable in transit.
 */
export async function readMetadataSource(source: string): Promise<string> {
  if (isUrl(source)) return fetchMetadata(source);
  let handle;
  try {
    handle = await open(source, 'r');
  } catch (error) {
    throw refuse(`cannot read ${source} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return metadataText(await readUpToLimit(handle, source), source);
  } finally {
    await handle.close();
  }
}

/**
 * The whole file, or a refusal once it passes MAX_METADATA_BYTES. Read from where it stands, in a
 * loop: a pipe (`curl … | sp add /dev/stdin`) cannot seek, and hands over at most 64 KB per read.
 */
async function readUpToLimit(handle: FileHandle, source: string): Promise<Buffer> {
  const buffer = Buffer.alloc(MAX_METADATA_BYTES + 1);
  let filled = 0;
  while (filled < buffer.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null));
    } catch (error) {
      throw refuse(`cannot read ${source} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  if (filled > MAX_METADATA_BYTES) throw refuse(`${source} is larger than ${MAX_METADATA_BYTES / 1024} KB`);
  return buffer.subarray(0, filled);
}

async function fetchMetadata(url: string): Promise<string> {
  if (!/^https:\/\//i.test(url)) throw refuse(`only https:// metadata URLs are accepted, not ${url.split(':')[0]}://`);
  let response: Response;
  try {
    // No redirects: each would be another server to trust, and https could turn into http on the way.
    response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'manual', headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
  } catch (error) {
    throw refuse(`cannot fetch ${url} (${fetchFailure(error)})`);
  }
  if (response.status >= 300 && response.status < 400) throw refuse(`${url} redirects (HTTP ${response.status} to ${response.headers.get('location') ?? 'nowhere'}); redirects are not followed: give the final https URL`);
  if (!response.ok || !response.body) throw refuse(`fetching ${url} answered HTTP ${response.status}`);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      size += part.value.byteLength;
      if (size > MAX_METADATA_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw refuse(`${url} is larger than ${MAX_METADATA_BYTES / 1024} KB`);
      }
      chunks.push(part.value);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw refuse(`reading ${url} failed (${fetchFailure(error)}; the limit is ${FETCH_TIMEOUT_MS / 1000} s for the whole answer)`);
  }
  return metadataText(Buffer.concat(chunks), url);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The metadata as text, read as UTF-8 (a byte-order mark at the start is not part of it). Any other
 * encoding is refused rather than read as UTF-8: a Latin-1 "é" became U+FFFD in the entityID and
 * endpoints that were stored, so the SP's own requests never matched them, and a UTF-16 file was
 * refused as "Start tag expected", which says nothing of its encoding.
 */
function metadataText(bytes: Buffer, source: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw refuse(`${source} is UTF-16 text; Stepgate reads metadata as UTF-8: save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)`);
  }
  // UTF-16 without a byte-order mark: its first character ("<", or white space) has a zero byte, which
  // UTF-8 XML never has. Read as UTF-8 it passed, NULs and all, to a vague "not valid" (or, with an
  // accented letter, to advice to convert from ISO-8859-1, which would garble it).
  const order = bytes[0] === 0 && bytes[1] !== 0 ? 'UTF-16BE' : bytes[0] !== 0 && bytes[1] === 0 ? 'UTF-16LE' : undefined;
  if (order) throw refuse(`${source} is UTF-16 text; Stepgate reads metadata as UTF-8: save it as UTF-8 (e.g. iconv -f ${order} -t UTF-8)`);
  try {
    return UTF8.decode(bytes);
  } catch {
    const declared = /^(?:\u00ef\u00bb\u00bf)?\s*<\?xml[^>]*\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]{0,39})["']/.exec(bytes.subarray(0, 200).toString('latin1'))?.[1];
    const from = declared ?? 'ISO-8859-1';
    throw refuse(`${source} is not UTF-8 text${declared ? ` (it says encoding="${declared}")` : ''}; Stepgate reads metadata as UTF-8, and reading it otherwise would change its non-ASCII characters: save it as UTF-8 (e.g. iconv -f ${from} -t UTF-8)`);
  }
}

/** fetch says "fetch failed" and keeps the reason (an untrusted certificate, a refused connection) in its cause. */
function fetchFailure(error: unknown): string {
  const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/i.test(reason)) return `${reason}: the server's certificate is not trusted; for a private CA, start the CLI with NODE_EXTRA_CA_CERTS=/path/to/ca.pem`;
  return reason;
}

function refuse(message: string): AppError {
  return new AppError('METADATA_INVALID', { userMessage: `The metadata was refused: ${message.replace(/\.$/, '')}.`, detail: { reason: message } });
}

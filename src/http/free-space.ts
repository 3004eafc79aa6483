import { statfs } from 'node:fs/promises';

/**
 * Free space below which the data directory counts as full for /readyz: a sign-in appends about 9 KB
 * to the journal, so this is a handful of them. The journal probe alone does not tell: on a full file
 * system its line of a hundred bytes still fits into the slack of the journal's last block, and went
 * on fitting for minutes (160 s on a full tmpfs) while every sign-in failed with ENOSPC.
 */
export const MIN_FREE_BYTES = 64 * 1024;

/** Fails when the file system holding `dir` has less than `minBytes` left for this (unprivileged) process. */
export async function checkFreeSpace(dir: string, minBytes: number = MIN_FREE_BYTES): Promise<void> {
  const { bavail, bsize } = await statfs(dir);
  const free = bavail * bsize;
  if (free < minBytes) throw new Error(`the file system of the data directory is full: ${free} bytes free, less than the ${minBytes} a few sign-ins need`);
}

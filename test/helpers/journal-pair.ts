import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import type { JournalSealer } from '../../src/store/journal-sealer.ts';

/**
 * A running server's journal and a CLI's (owner: false) on the same file in `dir`, both open, on the
 * real clock: how the two processes share kv.journal.
 */
export async function openServerAndCli(dir: string, sealer: JournalSealer): Promise<{ server: JournalKeyValue; cli: JournalKeyValue; path: string }> {
  const clock = { now: () => Date.now() };
  const path = join(dir, 'kv.journal');
  const server = new JournalKeyValue(path, clock, { sealer });
  await server.open();
  const cli = new JournalKeyValue(path, clock, { sealer, owner: false });
  await cli.open();
  return { server, cli, path };
}

import type { Booted } from './boot.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { loadSecretKey } from '../../src/config/secret-key.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { systemClock } from '../../src/core/clock.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * `npm run cli -- <words>` as its own process runs it against a booted server: the server's data
 * directory and secret key, and the CLI's own store, opened for this one command and closed after.
 */
export async function cliProcess(app: Booted, secretKey: string, words: string[], settings: ConfigInput = {}, hooks: { opened?: () => Promise<void> } = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const config = parseConfig({ ...settings, dataDir: app.dataDir, secretKey, server: { publicUrl: app.url } });
  const box = new SecretBox(loadSecretKey(config, { dataIsFresh: false }).key);
  const store = await new LowdbStore(app.dataDir, systemClock, { sealer: journalSealer(box), owner: false }).open();
  try {
    // What happens between the command's start (its store read) and its work: the server goes on meanwhile.
    await hooks.opened?.();
    const code = await runCli(COMMANDS, words, {
      config: () => config,
      store: async () => store,
      box: () => box,
      clock: systemClock,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    await store.close();
  }
}

/** What a command in this process works on: the store the test holds open, and the key and clock it uses. */
export type InProcessCliContext = Omit<Parameters<typeof runCli>[2], 'out' | 'err'>;

/** `npm run cli -- <words>` run in this process on the test's own store; the lines it printed, collected. */
export async function cliInProcess(context: InProcessCliContext, words: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(COMMANDS, words, { ...context, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

import { randomBytes } from 'node:crypto';
import { runCli } from '../../src/cli/run-cli.ts';
import { spCommands } from '../../src/cli/commands/sp.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { Store } from '../../src/store/store.ts';

/** `npm run cli -- sp …` run in-process on an open store of `dataDir`: its exit code and what it printed. */
export async function runSpCli(dataDir: string, store: Store, words: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(spCommands, words, {
    config: () => parseConfig({ dataDir }),
    store: async () => store,
    box: () => new SecretBox(randomBytes(32)),
    clock: systemClock,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

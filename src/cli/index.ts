import { resolve } from 'node:path';
import { loadConfig, ConfigError } from '../config/load.ts';
import { warnIfConfigFileExposed } from '../config/config-file-exposure.ts';
import { LowdbStore } from '../store/lowdb-store.ts';
import { loadSecretKey } from '../config/secret-key.ts';
import { openStore } from '../open-store.ts';
import { SecretBox } from '../core/secret-box.ts';
import { systemClock } from '../core/clock.ts';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import { runCli } from './run-cli.ts';
import { refuseRootOnAnotherUsersDirectory } from './root-refusal.ts';
import { COMMANDS } from './commands/all.ts';

/** `npm run cli -- <command>`: admin tasks on the same data directory the server uses. */
let config: Config | undefined;
let store: Promise<Store> | undefined;
let box: SecretBox | undefined;
/** Warnings the server logs, written to stderr. */
const warnings = { warn: (_fields: Record<string, unknown>, message: string) => process.stderr.write(`Warning: ${message}\n`) };
const getConfig = () => {
  if (config) return config;
  config = loadConfig();
  warnIfConfigFileExposed(config, warnings);
  return config;
};
const getBox = () => {
  if (box) return box;
  // Loading the key makes secret.key in a new data directory: root must not make it in another user's.
  refuseRootOnAnotherUsersDirectory(getConfig(), { script: 'cli', words: process.argv.slice(2) });
  box = new SecretBox(loadSecretKey(getConfig(), { dataIsFresh: LowdbStore.isFresh(getConfig().dataDir), warnings }).key);
  return box;
};

/**
 * Every command that opens the store needs the key: the journal is sealed with it. A command run
 * before the server's first start creates the data directory: it makes the key first, as the server
 * would, or the server would find data without its key and refuse to start. A key that does not open
 * the directory's secrets is refused as the server refuses it, before a command seals anything with
 * it (keys add, client add, any journal line): those would open with that key only.
 */
async function openDataStore(): Promise<Store> {
  refuseRootOnAnotherUsersDirectory(getConfig(), { script: 'cli', words: process.argv.slice(2) });
  const fresh = LowdbStore.isFresh(getConfig().dataDir);
  const opened = await openStore(getConfig(), getBox(), systemClock, { owner: false });
  // Only once it is open: a directory this user may not read also looks fresh, and then nothing was made.
  if (fresh) {
    // Most often a typo or a missing STEPGATE_CONFIG: the command would otherwise act, silently, on an empty store.
    process.stderr.write(`Note: ${resolve(getConfig().dataDir)} had no Stepgate data; it is a new, empty data directory now. If the server uses another one, give this command the same STEPGATE_CONFIG or STEPGATE_DATA_DIR.\n`);
  }
  return opened;
}

/**
 * A reader that stops early (`audit | head -1`) is not a failure of the command: the rest of its
 * output is dropped and the command still runs to its end, so a change it made is audited and the
 * store is closed. Stopping at once instead could lose the audit event of a change already written.
 */
let stdoutClosed = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  stdoutClosed = true;
});

const words = process.argv.slice(2);
try {
  const code = await runCli(COMMANDS, words, {
    config: getConfig,
    store: () => (store ??= openDataStore()),
    box: getBox,
    clock: systemClock,
    out: (line) => {
      if (!stdoutClosed) process.stdout.write(line + '\n');
    },
    err: (line) => process.stderr.write(line + '\n'),
  });
  if (store) await (await store).close();
  // No command at all is a usage error, as an unknown one is (a script that forgot its arguments
  // must not read as a success); runCli lists the commands either way, and --help stays 0.
  process.exitCode = words.length === 0 ? 2 : code;
} catch (error) {
  process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `Error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof ConfigError ? 2 : 1;
}

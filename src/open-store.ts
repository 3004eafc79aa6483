import type { Config } from './config/schema.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/log.ts';
import type { SecretBox } from './core/secret-box.ts';
import { secretKeyMismatch } from './config/secret-key.ts';
import { signingKeys } from './keys/signing-keys.ts';
import { LowdbStore } from './store/lowdb-store.ts';
import { JournalKeyMismatch } from './store/journal-kv.ts';
import { journalSealer } from './store/journal-sealer.ts';
import { clientNetwork } from './regulation/client-network.ts';

/**
 * The data directory's store, opened with the installation's secret key; for the server and the CLI.
 * A key that does not open the secrets already there (another installation's, or a new one made after
 * secret.key was lost) is refused as the configuration error it is, naming the setting. It is checked
 * before the journal is opened: the owner's open rewrites the journal sealed with this key, and nothing
 * must be sealed with a wrong one. `owner: false` for the CLI (see LowdbStore).
 */
export async function openStore(config: Config, box: SecretBox, clock: Clock, options: { owner?: boolean; logger?: Logger } = {}): Promise<LowdbStore> {
  // Audit failures are capped per client as the regulator counts them: an IPv6 /64 is one client.
  const store = new LowdbStore(config.dataDir, clock, { sealer: journalSealer(box), auditClientOf: clientNetwork, ...options });
  const checkKey = async () => {
    if (!(await signingKeys(store, box, clock, config.server.publicUrl).opensWithBox())) throw secretKeyMismatch(config);
  };
  return store.open({ checkKey }).catch((error: unknown) => {
    throw error instanceof JournalKeyMismatch ? secretKeyMismatch(config) : error;
  });
}

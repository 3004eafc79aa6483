import type { Logger } from '../core/log.ts';
import type { SigningKeys } from './signing-keys.ts';

/**
 * At start: the signing keys made just now (no active key of their algorithm was stored) on a data
 * directory a server has run on before, so it had one: db.json lost its signing keys (edited by
 * hand, restored in part). Nothing else said so: the server signed with new keys that no SAML SP and
 * no ID Token verifier knew. `since`: when this start began; `startedBefore`: asked before the start
 * recorded itself.
 */
export async function warnOfKeysGeneratedOnUsedData(keys: SigningKeys, logger: Pick<Logger, 'warn'>, since: number, startedBefore: boolean): Promise<void> {
  if (!startedBefore) return;
  for (const key of await keys.all()) {
    if (key.status !== 'active' || key.createdAt < since) continue;
    logger.warn(
      { event: 'keys.generated-on-used-data', keyId: key.id, alg: key.alg },
      `no active ${key.alg} signing key was stored, though a server has run on this data directory before: its signing keys are gone from db.json, and new key ${key.id} signs now. ` +
        `SAML service providers refuse its responses until they import the metadata again, and ID Tokens signed before no longer verify. ` +
        `If db.json was edited or restored in part, stop the server and put back db.json from your backup (see "Backing up and restoring")`,
    );
  }
}

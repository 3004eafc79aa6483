import type { Logger } from '../core/log.ts';
import type { Store } from '../store/store.ts';
import { utcMinuteWithZone } from '../core/utc-minute.ts';
import { removedSigningKeys, type LoadedKey, type RemovedSigningKey, type SigningKeys } from './signing-keys.ts';

type PublishedKey = Pick<LoadedKey, 'id' | 'alg' | 'status'>;

/**
 * The removals this installation recorded, by key id. A published key among them is published again
 * (JWKS; SAML metadata too unless retired) although the removal, often of an exposed key, should
 * have ended that. This version's import brings one back only with --restore-removed-keys (marked
 * restoredAt). An earlier version records no restore: after a rollback its import brings one back
 * unasked (versions that keep no record of removals) or asked (its --restore-removed-keys), and
 * neither can be told apart here; a `keys remove` that stopped between its two writes leaves one too.
 */
export async function removalsById(store: Store): Promise<Map<string, RemovedSigningKey>> {
  return new Map((await removedSigningKeys(store).list()).map((removal) => [removal.id, removal]));
}

/** What removes the key again: an active key signs, so another must take over first. */
export function removeAgainCommand(key: PublishedKey): string {
  const remove = `npm run cli -- keys remove ${key.id} --force`;
  return key.status === 'active' ? `npm run cli -- keys add --alg ${key.alg}, then keys activate <its id>, then ${remove}` : remove;
}

/**
 * At start: each key removed here that is published again without the admin's word. Nothing else
 * would say so: the import that brought it back was made by a version that could not know.
 */
export async function warnOfRemovedKeysPublished(keys: SigningKeys, store: Store, logger: Pick<Logger, 'warn'>): Promise<void> {
  const removals = await removalsById(store);
  for (const key of await keys.all()) {
    const removal = removals.get(key.id);
    if (removal === undefined || removal.restoredAt !== undefined) continue;
    logger.warn(
      { event: 'keys.removed-key-published', keyId: key.id, alg: key.alg, status: key.status, removedAt: new Date(removal.removedAt).toISOString() },
      `signing key ${key.id} (${key.alg}, ${key.status}) was removed here on ${utcMinuteWithZone(removal.removedAt)} but is published again: ` +
        `an earlier version of Stepgate imported an export that holds it (its --restore-removed-keys leaves no record), or "keys remove" stopped before it took the key out. ` +
        `If it was removed because it may have been exposed, remove it again: ${removeAgainCommand(key)}; to keep it published, remove it and import it again with this version's config import --restore-removed-keys`,
    );
  }
}

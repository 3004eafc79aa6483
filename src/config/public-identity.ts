import type { Config } from './schema.ts';
import type { Logger } from '../core/log.ts';
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/store.ts';
import { idpEndpoints } from '../saml/idp-identity.ts';

/** The names relying parties know this installation by, as of the last start. */
export interface PublicIdentityRecord {
  id: typeof RECORD_ID;
  publicUrl: string;
  samlEntityId: string;
  recordedAt: string;
}

export const PUBLIC_IDENTITY_COLLECTION = 'installation';
const RECORD_ID = 'public-identity';

/**
 * Remembers the public URL and the SAML entityID in the store, and warns at a start where they changed.
 * Both are easy to change by accident (the default public URL follows the port) and the change breaks
 * every relying party without an error on this side. Not refused: moving to a new name on purpose is
 * a legitimate change, and the warning says what it costs.
 */
export async function recordPublicIdentity(store: Store, config: Config, logger: Logger, clock: Clock): Promise<void> {
  const records = store.collection<PublicIdentityRecord>(PUBLIC_IDENTITY_COLLECTION);
  const current = { publicUrl: config.server.publicUrl, samlEntityId: idpEndpoints(config).entityId };
  const previous = await records.get(RECORD_ID);
  if (previous && previous.publicUrl === current.publicUrl && previous.samlEntityId === current.samlEntityId) return;
  if (previous) {
    const consequences: string[] = [];
    if (previous.publicUrl !== current.publicUrl) {
      consequences.push(
        `the public URL changed from ${previous.publicUrl} to ${current.publicUrl}: it is the OIDC issuer, so OIDC clients' refresh tokens and sessions stop working and clients configured with the old issuer refuse sign-ins; the SAML endpoints moved too`,
      );
    }
    if (previous.samlEntityId !== current.samlEntityId) {
      consequences.push(`the SAML entityID changed from ${previous.samlEntityId} to ${current.samlEntityId}: SAML service providers refuse this IdP's assertions until they re-import its metadata`);
    } else if (previous.publicUrl !== current.publicUrl) {
      consequences.push(`SAML service providers must re-import the metadata (${idpEndpoints(config).metadata}) to reach the new endpoints`);
    }
    logger.warn(
      { event: 'config.public-identity-changed', previous: { publicUrl: previous.publicUrl, samlEntityId: previous.samlEntityId }, current },
      `the public identity changed since the last start on this data directory: ${consequences.join('; ')}. If that was not meant, set server.publicUrl (PUBLIC_URL) or saml.entityId back and restart.`,
    );
  }
  await records.put({ id: RECORD_ID, ...current, recordedAt: new Date(clock.now()).toISOString() });
}

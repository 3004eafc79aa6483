import type { Config } from './schema.ts';
import type { Logger } from '../core/log.ts';
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/store.ts';
import { idpEndpoints } from '../saml/idp-identity.ts';
import { loadConfig } from './load.ts';
import { resolve } from 'node:path';

/** The names relying parties know this installation by, as of the last start. */
export interface PublicIdentityRecord {
  id: typeof RECORD_ID;
  publicUrl: string;
  samlEntityId: string;
  recordedAt: string;
}

const PUBLIC_IDENTITY_COLLECTION = 'installation';
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

/** The public identity an offline tool works with, and what the administrator is told about it. */
export interface ToolPublicIdentity {
  /** The configuration with server.publicUrl and saml.entityId as the tool uses them. */
  config: Config;
  /** Which public URL and entityID are used, and where they came from. */
  source: string;
  /** Set when the tool's own configuration names another identity than the server's last start recorded. */
  mismatch?: string;
}

/** Whether a server has started on this data directory before (it recorded the public identity then). */
export async function serverStartedBefore(store: Store): Promise<boolean> {
  return (await store.collection<PublicIdentityRecord>(PUBLIC_IDENTITY_COLLECTION).get(RECORD_ID)) !== undefined;
}

/**
 * The public identity for a tool that runs beside the server (idp-metadata, admin bootstrap-secret).
 * The server's PORT or PUBLIC_URL is often set only in its own environment: a tool given just the
 * data directory would otherwise use the default URL, and hand out metadata or links under a name
 * no relying party knows. So a setting the tool is given wins, and without one it uses what the
 * server recorded at its last start on this data directory.
 */
export async function publicIdentityForTool(store: Store, config: Config): Promise<ToolPublicIdentity> {
  const recorded = await store.collection<PublicIdentityRecord>(PUBLIC_IDENTITY_COLLECTION).get(RECORD_ID);
  const urlConfigured = publicUrlIsConfigured(config);
  const entityIdConfigured = config.saml.entityId !== undefined;
  const lastStart = `the server's last start on ${resolve(config.dataDir)}`;
  if (!recorded) {
    const from = urlConfigured ? 'server.publicUrl / PUBLIC_URL' : `the default for port ${config.server.port}`;
    return { config, source: `Using public URL ${config.server.publicUrl} (${from}) and SAML entityID ${idpEndpoints(config).entityId}; no server has started on ${resolve(config.dataDir)} yet.` };
  }
  const publicUrl = urlConfigured ? config.server.publicUrl : recorded.publicUrl;
  // Without a public URL of its own the tool takes the recorded pair; with one, the entityID follows it as in the server.
  const entityId = entityIdConfigured ? config.saml.entityId : urlConfigured ? undefined : recorded.samlEntityId;
  const used: Config = { ...config, server: { ...config.server, publicUrl }, saml: { ...config.saml, entityId } };
  const usedEntityId = idpEndpoints(used).entityId;
  const urlFrom = urlConfigured ? 'from server.publicUrl / PUBLIC_URL' : `as recorded at ${lastStart}`;
  const entityIdFrom = entityIdConfigured ? 'from saml.entityId' : urlConfigured ? 'following the public URL' : `as recorded at ${lastStart}`;
  const source =
    urlConfigured || entityIdConfigured
      ? `Using public URL ${publicUrl} (${urlFrom}) and SAML entityID ${usedEntityId} (${entityIdFrom}).`
      : `Using public URL ${publicUrl} and SAML entityID ${usedEntityId}, as recorded at ${lastStart}.`;
  const differences = [
    ...(publicUrl !== recorded.publicUrl ? [`public URL ${publicUrl} here, ${recorded.publicUrl} there`] : []),
    ...(usedEntityId !== recorded.samlEntityId ? [`SAML entityID ${usedEntityId} here, ${recorded.samlEntityId} there`] : []),
  ];
  if (!differences.length) return { config: used, source };
  return {
    config: used,
    source,
    mismatch: `Warning: this configuration differs from ${lastStart} (${recorded.recordedAt}): ${differences.join('; ')}. Relying parties know the server's; unless the server is about to move to these, give this command the server's PUBLIC_URL and STEPGATE_CONFIG.`,
  };
}

/**
 * Whether the configuration names the public URL, rather than leaving the default that follows the
 * port: the parsed configuration holds a URL either way, so it is loaded again with another port.
 */
function publicUrlIsConfigured(config: Config): boolean {
  const otherPort = config.server.port === 1 ? 2 : 1;
  return loadConfig(process.env, { server: { port: otherPort } }).server.publicUrl === config.server.publicUrl;
}

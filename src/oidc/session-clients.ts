import type { KeyValue } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import type { SessionService } from '../session/session-service.ts';
import { KvAdapter } from './adapter.ts';
import { SsoLinks } from './sso-links.ts';
import { ClientRevocations } from './client-revocations.ts';

/**
 * The OIDC clients signed in through an SSO session (administration: `session list`): the clients
 * that the provider sessions mirroring it issued a code to (served-clients.ts), less removed ones
 * (ClientRevocations).
 * Read-only; works from the CLI's own store.
 */
export async function oidcClientsOf(kv: KeyValue, clock: Clock, sessions: SessionService, ssoSessionId: string): Promise<string[]> {
  // The links' lifetime matters only to writes, which this never makes.
  const links = new SsoLinks(kv, sessions, 0);
  const providerSessions = new KvAdapter(kv, clock, 'Session');
  const revocations = new ClientRevocations(kv);
  const clients = new Set<string>();
  for (const uid of await links.mirrorsOf(ssoSessionId)) {
    const authorizations = (await providerSessions.findByUid(uid))?.authorizations ?? {};
    for (const clientId of Object.keys(await revocations.kept(authorizations))) clients.add(clientId);
  }
  return [...clients].sort();
}

import type { KeyValue } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import type { SessionService } from '../session/session-service.ts';
import { KvAdapter } from './adapter.ts';
import { SsoLinks } from './sso-links.ts';

/**
 * The OIDC clients signed in through an SSO session (administration: `session list`): the clients
 * authorized in the provider sessions that mirror it. Read-only; works from the CLI's own store.
 */
export async function oidcClientsOf(kv: KeyValue, clock: Clock, sessions: SessionService, ssoSessionId: string): Promise<string[]> {
  // The links' lifetime matters only to writes, which this never makes.
  const links = new SsoLinks(kv, sessions, 0);
  const providerSessions = new KvAdapter(kv, clock, 'Session');
  const clients = new Set<string>();
  for (const uid of await links.mirrorsOf(ssoSessionId)) {
    const session = await providerSessions.findByUid(uid);
    for (const clientId of Object.keys((session?.authorizations ?? {}) as Record<string, unknown>)) clients.add(clientId);
  }
  return [...clients].sort();
}

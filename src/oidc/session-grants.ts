import type { AdapterPayload } from 'oidc-provider';
import type { KvAdapter } from './adapter.ts';
import type { SsoLinks } from './sso-links.ts';
import { oneTurnAtATime } from './session-turns.ts';

export interface SessionGrantsDeps {
  /** The Session model's own storage: SessionAdapter refuses the mirror of an ended SSO session, which is what this reads. */
  providerSessions: KvAdapter;
  grants: KvAdapter;
  /** The models issued from a grant (codes, access and refresh tokens), as oidc-provider's own revocation takes them. */
  issued: readonly KvAdapter[];
  links: SsoLinks;
}

/**
 * What oidc-provider holds for a provider session besides the session itself: a grant per client it
 * signed in to (never shared with another provider session, see grants.ts) and the codes and tokens
 * issued from it. Grants and refresh tokens are stored for `oidc.refreshTokenTtlSeconds` (14 days),
 * yet every token is bound to the provider session, so none of them can be used again once the SSO
 * session it mirrors has ended: they are removed then, at a logout (mount.ts) and, for a session
 * that timed out, by the sweep (ended-session-sweep.ts).
 */
export class SessionGrants {
  readonly #deps: SessionGrantsDeps;

  constructor(deps: SessionGrantsDeps) {
    this.#deps = deps;
  }

  async revoke(grantIds: readonly string[]): Promise<void> {
    await Promise.all(grantIds.map((grantId) => Promise.all([...this.#deps.issued.map((model) => model.revokeByGrantId(grantId)), this.#deps.grants.destroy(grantId)])));
  }

  /**
   * A provider session whose SSO session ended without a logout: its grants and tokens, the session
   * and its link go, with no save of it in between (a request that loaded it cannot store it again).
   */
  async end(providerSessionUid: string): Promise<void> {
    await oneTurnAtATime(providerSessionUid, async () => {
      const session = await this.#deps.providerSessions.findByUid(providerSessionUid);
      await this.#deps.links.end(providerSessionUid);
      await this.revoke(grantIdsOf(session));
      if (session) await this.#deps.providerSessions.destroy(String(session.jti));
    });
  }
}

export function grantIdsOf(session: AdapterPayload | undefined): string[] {
  return Object.values(session?.authorizations ?? {}).flatMap(({ grantId }) => (grantId ? [grantId] : []));
}

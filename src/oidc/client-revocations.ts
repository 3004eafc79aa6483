import type { AdapterPayload, ClientAuthorizationState } from 'oidc-provider';
import type { KeyValue } from '../store/store.ts';
import { systemClock } from '../core/clock.ts';
import { KvAdapter } from './adapter.ts';

const NAMESPACE = 'oidc-client-removed';

/**
 * A running server re-reads the registrations at most once a second (lowdb-collections.ts), and a
 * request that read the client just before may still be finishing (a slow directory answer): grants
 * made this long after the removal are counted as made before it. The price: a client registered
 * again within these seconds gets codes that do not redeem until they are over (its users sign in again).
 */
const STALE_REGISTRATION_SECONDS = 5;

/** The grant fields read here (oidc-provider's Grant payload). */
type GrantStamp = Pick<AdapterPayload, 'clientId' | 'iat'>;

/**
 * Everything oidc-provider issued to a removed client, revoked: `client remove` notes when, per
 * client_id, and every reader of a grant (hence of the codes and tokens made from it) and of a
 * provider session's authorizations leaves out what was made before. Nothing is scanned: a note is
 * one lookup per grant or authorization read. The note is kept for good (one small entry per removed
 * client), so the same client_id registered again (a config import of a backup) gets none of it back.
 */
export class ClientRevocations {
  readonly #kv: KeyValue;
  /** The Grant model's own storage, read only. */
  readonly #grants: KvAdapter;

  constructor(kv: KeyValue) {
    this.#kv = kv;
    this.#grants = new KvAdapter(kv, systemClock, 'Grant');
  }

  /** The client is being removed: everything issued to it until now is void. */
  async record(clientId: string): Promise<void> {
    await this.#kv.set(NAMESPACE, clientId, epochSeconds());
  }

  /** Whether the grant was made for a client removed since (then its codes and tokens are void too). */
  async voids(grant: GrantStamp): Promise<boolean> {
    const removedAt = grant.clientId === undefined ? undefined : await this.#removedAt(grant.clientId);
    return removedAt !== undefined && voidedBy(grant, removedAt);
  }

  /**
   * A provider session's clients without the removed ones it signed in to before their removal
   * (their grant is void or gone): their back-channel logout, `session list` and the sid of their ID
   * Tokens must not come back with the client_id.
   */
  async kept(authorizations: Record<string, ClientAuthorizationState>): Promise<Record<string, ClientAuthorizationState>> {
    const kept: Record<string, ClientAuthorizationState> = {};
    for (const [clientId, authorization] of Object.entries(authorizations)) {
      const removedAt = await this.#removedAt(clientId);
      const grant = removedAt === undefined || !authorization.grantId ? undefined : await this.#grants.find(authorization.grantId);
      if (removedAt === undefined || (grant && !voidedBy(grant, removedAt))) kept[clientId] = authorization;
    }
    return kept;
  }

  #removedAt(clientId: string): Promise<number | undefined> {
    return this.#kv.get<number>(NAMESPACE, clientId);
  }
}

function voidedBy(grant: GrantStamp, removedAt: number): boolean {
  return grant.iat === undefined || grant.iat <= removedAt + STALE_REGISTRATION_SECONDS;
}

/** On oidc-provider's clock, which stamps grants (iat) with the system time whatever clock Stepgate is given. */
function epochSeconds(): number {
  return Math.floor(systemClock.now() / 1000);
}

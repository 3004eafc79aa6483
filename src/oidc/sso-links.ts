import type { KeyValue } from '../store/store.ts';
import type { SessionService } from '../session/session-service.ts';

const NAMESPACE = 'oidc-sso-link';

/**
 * Which Stepgate SSO session each oidc-provider session mirrors, keyed by the provider session's
 * `uid` (stable while its cookie id rotates). oidc-provider's session model has no room for foreign
 * data, hence this side table; it is what lets a token request (no browser, no cookie) find out
 * whether the sign-in it came from has ended.
 */
export class SsoLinks {
  readonly #kv: KeyValue;
  readonly #sessions: SessionService;
  readonly #ttlSeconds: number;

  constructor(kv: KeyValue, sessions: SessionService, ttlSeconds: number) {
    this.#kv = kv;
    this.#sessions = sessions;
    this.#ttlSeconds = ttlSeconds;
  }

  get(providerSessionUid: string): Promise<string | undefined> {
    return this.#kv.get<string>(NAMESPACE, providerSessionUid);
  }

  async set(providerSessionUid: string, ssoSessionId: string): Promise<void> {
    if ((await this.get(providerSessionUid)) === ssoSessionId) return;
    await this.#kv.set(NAMESPACE, providerSessionUid, ssoSessionId, { ttlSeconds: this.#ttlSeconds });
  }

  delete(providerSessionUid: string): Promise<void> {
    return this.#kv.delete(NAMESPACE, providerSessionUid);
  }

  /** True while the linked SSO session is alive (not logged out, idle or past its lifetime) and is this account's. */
  async backs(providerSessionUid: string, accountId: string): Promise<boolean> {
    const ssoSessionId = await this.get(providerSessionUid);
    if (!ssoSessionId) return false;
    const sso = await this.#sessions.byId(ssoSessionId);
    return sso?.user.id === accountId;
  }
}

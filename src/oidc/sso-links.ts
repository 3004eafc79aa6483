import type { KeyValue } from '../store/store.ts';
import type { SessionService } from '../session/session-service.ts';

const NAMESPACE = 'oidc-sso-link';
/** Provider session uids that ended (a logout, a timeout, another user's sign-in): never stored again. */
const ENDED = 'oidc-ended-session';

/** One small namespace per SSO session (like the adapter's grant index): its entries are the provider session uids that mirror it. */
function mirrorsNamespace(ssoSessionId: string): string {
  return `oidc-sso-mirrors:${ssoSessionId}`;
}

/**
 * Which Stepgate SSO session each oidc-provider session mirrors, keyed by the provider session's
 * `uid` (stable while its cookie id rotates). oidc-provider's session model has no room for foreign
 * data, hence this side table; it is what lets a token request (no browser, no cookie) find out
 * whether the sign-in it came from has ended. The reverse direction (which provider sessions mirror
 * an SSO session) is what a logout needs to tell their relying parties (backchannel-logout.ts).
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
    const previous = await this.get(providerSessionUid);
    if (previous === ssoSessionId) return;
    const options = { ttlSeconds: this.#ttlSeconds };
    await Promise.all([
      this.#kv.set(NAMESPACE, providerSessionUid, ssoSessionId, options),
      this.#kv.set(mirrorsNamespace(ssoSessionId), providerSessionUid, true, options),
      previous && this.#kv.delete(mirrorsNamespace(previous), providerSessionUid),
    ]);
  }

  async delete(providerSessionUid: string): Promise<void> {
    const ssoSessionId = await this.get(providerSessionUid);
    await Promise.all([this.#kv.delete(NAMESPACE, providerSessionUid), ssoSessionId && this.#kv.delete(mirrorsNamespace(ssoSessionId), providerSessionUid)]);
  }

  /**
   * The provider session ended: its link goes, and its uid is marked ended for as long as the session
   * could have lasted, so that a request that loaded it before (a save under way, a sign-in page open
   * in another tab) cannot store it again (session-adapter.ts, session-sync.ts). In memory only: what
   * could store it again (requests, oidc-provider's interactions) does not outlive a restart either.
   */
  async end(providerSessionUid: string): Promise<void> {
    await this.#kv.set(ENDED, providerSessionUid, true, { ttlSeconds: this.#ttlSeconds, durable: false });
    await this.delete(providerSessionUid);
  }

  async ended(providerSessionUid: string): Promise<boolean> {
    return (await this.#kv.get<boolean>(ENDED, providerSessionUid)) === true;
  }

  /** Every link, as [provider session uid, SSO session id]: for the sweep of ended sessions, not for a request. */
  all(): Promise<Array<[string, string]>> {
    return this.#kv.entries<string>(NAMESPACE);
  }

  /** The provider session uids that mirror this SSO session now (whether or not it is still alive). */
  async mirrorsOf(ssoSessionId: string): Promise<string[]> {
    const uids = (await this.#kv.entries<boolean>(mirrorsNamespace(ssoSessionId))).map(([uid]) => uid);
    const current = await Promise.all(uids.map(async (uid) => ((await this.get(uid)) === ssoSessionId ? uid : undefined)));
    return current.filter((uid) => uid !== undefined);
  }

  /** The same user re-authenticated: the provider sessions that mirrored `previousId` mirror `nextId` now. */
  async moveAll(previousId: string, nextId: string): Promise<void> {
    await Promise.all((await this.mirrorsOf(previousId)).map((uid) => this.set(uid, nextId)));
  }

  /**
   * 'backed' while the linked SSO session is alive (not logged out, idle or past its lifetime) and is
   * this account's; 'ended' when it is gone; 'unlinked' or 'other-account' when it never was this one's.
   */
  async backing(providerSessionUid: string, accountId: string): Promise<'backed' | 'ended' | 'unlinked' | 'other-account'> {
    const ssoSessionId = await this.get(providerSessionUid);
    if (!ssoSessionId) return 'unlinked';
    // Not a use of the session: this runs for token requests too, which come from the client's back end.
    const sso = await this.#sessions.peek(ssoSessionId);
    if (!sso) return 'ended';
    return sso.user.id === accountId ? 'backed' : 'other-account';
  }
}

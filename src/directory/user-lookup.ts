import type { Directory } from './directory.ts';
import type { User } from '../core/types.ts';
import { BoundedMap } from '../core/bounded-map.ts';

/** How long a directory answer is reused across requests; a disabled user is refused within this. */
const CACHE_MS = 10_000;
const CACHE_ENTRIES = 10_000;

/**
 * The directory's findUserById with answers reused for CACHE_MS: the current account behind an SSO
 * session (every reuse of the session by a relying party, SAML or OIDC) and behind OIDC tokens
 * (oidc-provider's findAccount: token, refresh, userinfo). There is deliberately no fallback to the
 * SSO session's snapshot of the user: a user deleted or disabled in the directory gets no new
 * assertion or token, and one whose groups changed is judged and described with the current groups.
 * Answers are reused for a few seconds because one sign-in asks at several steps, and each LDAP
 * lookup is a user search plus group searches.
 */
export class UserLookup {
  readonly #directory: Directory;
  readonly #now: () => number;
  readonly #recent = new BoundedMap<string, { at: number; user: Promise<User | null> }>(CACHE_ENTRIES);

  constructor(directory: Directory, now: () => number) {
    this.#directory = directory;
    this.#now = now;
  }

  find(id: string): Promise<User | null> {
    const cached = this.#recent.get(id);
    if (cached && this.#now() - cached.at <= CACHE_MS) return cached.user;
    const user = this.#directory.findUserById(id);
    this.#keep(id, this.#now(), user);
    // A failed lookup is not remembered: the next call asks the directory again.
    user.catch(() => this.#recent.delete(id));
    return user;
  }

  /**
   * A directory answer the sign-in itself got at `answeredAt` (the password step): within CACHE_MS it
   * is as current as a lookup of ours would be, so the steps after it need not ask again.
   */
  remember(user: User, answeredAt: number): void {
    if (this.#now() - answeredAt > CACHE_MS) return;
    const cached = this.#recent.get(user.id);
    if (cached && cached.at >= answeredAt) return;
    this.#keep(user.id, answeredAt, Promise.resolve(user));
  }

  #keep(id: string, at: number, user: Promise<User | null>): void {
    this.#recent.set(id, { at, user });
    // Oldest first (insertion order): answers past their use are dropped, not kept until the cap.
    const now = this.#now();
    for (const [oldId, entry] of this.#recent) {
      if (now - entry.at <= CACHE_MS) break;
      this.#recent.delete(oldId);
    }
  }
}


import type { KeyValue } from '../store/store.ts';
import { updateWithRetry } from '../store/update-with-retry.ts';
import { randomId } from '../core/ids.ts';
import type { FamiliarDevice } from './regulation.ts';
import { FAMILIAR_DEVICE_LIFETIME_SECONDS } from './familiar-devices.ts';

const NAMESPACE = 'familiar-devices';
/** Browsers that proved the password for an SSO session, by the session's id, until a sign-in of it is complete. */
const CANDIDATE_NAMESPACE = 'familiar-device-candidates';
/**
 * The browsers an account is familiar from at most. Each has guesses of its own that the account's
 * lock does not refuse, and whoever once had the password could collect any number of cookies (one
 * per fresh browser): this bounds those guesses also when the password is changed outside Stepgate.
 */
export const MAX_FAMILIAR_DEVICES = 10;
const MAX_CAS_ATTEMPTS = 20;

/** Device ids, the browser that signed in longest ago first. */
interface Register {
  ids: string[];
  /**
   * Those of `ids` that completed a sign-in with a second factor. A sign-in on the password alone
   * never pushes one of them out: whoever phished the password cannot evict the user's own browser.
   */
  secondFactor?: string[];
  /**
   * A mark each forget renews, in the same record so that one compare-and-set both checks it and adds
   * a browser: a browser that proved the password before a forget (its sign-in still waiting for the
   * code) must not become familiar after it, also when the forget lands between the check and the add.
   */
  forgotten?: string;
}

/**
 * The account's forget mark as read at one moment: a browser proposed with it becomes familiar only
 * if no forget came after that moment. Read before the password goes to the directory, so a forget
 * that lands while it is checked, or while the session starts, keeps the browser out.
 */
export interface ForgetMark {
  readonly forgotten: string | undefined;
}

/** A browser that proved the account's password for an SSO session (see propose). */
interface Candidate {
  device: FamiliarDevice;
  /** The name typed, which the browser's cookie is bound to. */
  login: string;
  /** The account's forget mark from before the password was checked; none: no forget yet. */
  forgotten?: string;
  /** When the browser can no longer use the session (epoch ms), unless it uses it again (see sessionUsable). */
  until: number;
  /** A complete sign-in of the session already made it familiar on the password alone: only a second factor adds to that. */
  familiar?: true;
}

/**
 * Which browsers an account is familiar from, kept in the store: a cookie (familiar-devices.ts) proves
 * a device only while its id is here. A browser gets here once a sign-in in it is complete: the
 * password step only proposes it (for its SSO session), so a sign-in left at the code page adds
 * nothing. A password Stepgate changes or sets, and an admin unlock, forget them all, so the browsers
 * that proved only the previous password are strangers again; a sign-in beyond MAX_FAMILIAR_DEVICES
 * browsers forgets the one that signed in longest ago, among those that proved no more than it did.
 */
export class FamiliarDeviceRegister {
  readonly #kv: KeyValue;

  constructor(kv: KeyValue) {
    this.#kv = kv;
  }

  async knows(device: FamiliarDevice): Promise<boolean> {
    return (await this.#kv.get<Register>(NAMESPACE, device.account))?.ids.includes(device.id) ?? false;
  }

  /** The account's forget mark now, for a password about to be checked (see ForgetMark). */
  async mark(account: string): Promise<ForgetMark> {
    return { forgotten: (await this.#kv.get<Register>(NAMESPACE, account))?.forgotten };
  }

  /**
   * The browser proved `device.account`'s password, typed as `login`, for SSO session `sessionId`,
   * which the browser can use until `until`; `mark`: the account's, read before that password was
   * checked. Held in memory only, as the sign-ins are: a restart forgets it, and the browser becomes
   * familiar at its next sign-in with the password.
   */
  async propose(sessionId: string, device: FamiliarDevice, login: string, until: number, now: number, mark: ForgetMark): Promise<void> {
    const { forgotten } = mark;
    const candidate: Candidate = { device, login, until, ...(forgotten !== undefined ? { forgotten } : {}) };
    await this.#kv.set(CANDIDATE_NAMESPACE, sessionId, candidate, { ttlSeconds: ttlUntil(until, now), durable: false });
  }

  /**
   * The browser used SSO session `sessionId` and can use it until `until`: its candidate lasts as
   * long, no longer, so that sessions that timed out leave none behind. Never brings back one that
   * went meanwhile (a sign-in with the second factor, a sign-out).
   */
  async sessionUsable(sessionId: string, until: number, now: number): Promise<void> {
    await this.#updateCandidate(sessionId, (candidate) => ({ ...candidate, until }), now);
  }

  /** SSO session `sessionId` ended: no sign-in of it can complete any more. */
  async sessionEnded(sessionId: string): Promise<void> {
    await this.#kv.delete(CANDIDATE_NAMESPACE, sessionId);
  }

  /**
   * A sign-in of SSO session `sessionId` is complete for `account`, with a second factor or on the
   * password alone: the browser that proved the password for it becomes familiar, or one that proved
   * a second factor. Returns that device and the name typed, for its cookie; undefined when it did not
   * become so (no candidate, another account, as familiar already, forgotten since, or no room: every
   * place held by a browser that proved a second factor, where this one proved the password alone).
   */
  async signedIn(sessionId: string, account: string, proof: { secondFactor: boolean }, now: number): Promise<{ device: FamiliarDevice; login: string } | undefined> {
    const candidate = await this.#kv.get<Candidate>(CANDIDATE_NAMESPACE, sessionId);
    if (candidate?.device.account !== account || (candidate.familiar && !proof.secondFactor)) return undefined;
    const kept = await this.#add(candidate, proof.secondFactor);
    if (kept === 'forgotten') {
      await this.#kv.delete(CANDIDATE_NAMESPACE, sessionId);
      return undefined;
    }
    // Proved all the account can: nothing more to record for this session.
    if (proof.secondFactor) await this.#kv.delete(CANDIDATE_NAMESPACE, sessionId);
    else await this.#updateCandidate(sessionId, (current) => ({ ...current, familiar: true }), now);
    return kept ? { device: candidate.device, login: candidate.login } : undefined;
  }

  /** Changes the session's candidate as it is now, while there is one: the session may have ended, or been used, meanwhile. */
  async #updateCandidate(sessionId: string, change: (candidate: Candidate) => Candidate, now: number): Promise<void> {
    await updateWithRetry<Candidate, void>(
      this.#kv,
      CANDIDATE_NAMESPACE,
      sessionId,
      (current) => {
        if (!current) return { result: undefined };
        const next = change(current);
        return { next, options: { ttlSeconds: ttlUntil(next.until, now), durable: false }, result: undefined };
      },
      MAX_CAS_ATTEMPTS,
    );
  }

  /**
   * The device becomes (or stays) the most recent, kept as long as its cookie; once it proved a second
   * factor, it stays one that did. Tells whether it found a place.
   */
  async #add(candidate: Candidate, secondFactor: boolean): Promise<boolean | 'forgotten'> {
    const { device } = candidate;
    return updateWithRetry<Register, boolean | 'forgotten'>(
      this.#kv,
      NAMESPACE,
      device.account,
      (stored) => {
        if (stored?.forgotten !== candidate.forgotten) return { result: 'forgotten' };
        const ids = [...(stored?.ids ?? []).filter((id) => id !== device.id), device.id];
        const proved = new Set([...(stored?.secondFactor ?? []), ...(secondFactor ? [device.id] : [])]);
        while (ids.length > MAX_FAMILIAR_DEVICES) {
          // The one that signed in longest ago among those on the password alone; only when there are none, of all.
          const weakest = ids.findIndex((id) => !proved.has(id));
          ids.splice(Math.max(0, weakest), 1);
        }
        const kept = ids.filter((id) => proved.has(id));
        return { next: { ids, ...(kept.length > 0 ? { secondFactor: kept } : {}), ...(stored?.forgotten !== undefined ? { forgotten: stored.forgotten } : {}) }, options: { ttlSeconds: FAMILIAR_DEVICE_LIFETIME_SECONDS }, result: ids.includes(device.id) };
      },
      MAX_CAS_ATTEMPTS,
    );
  }

  /**
   * Every browser of the account is a stranger again, also one whose sign-in is still under way.
   * Returns the new mark: a browser proposed with it became familiar on a password from after this forget.
   */
  async forget(account: string): Promise<ForgetMark> {
    const forgotten = randomId(16);
    // One write: the list emptied and the mark renewed together.
    await this.#kv.set<Register>(NAMESPACE, account, { ids: [], forgotten }, { ttlSeconds: FAMILIAR_DEVICE_LIFETIME_SECONDS });
    return { forgotten };
  }
}

function ttlUntil(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}

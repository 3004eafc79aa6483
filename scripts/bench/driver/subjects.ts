/**
 * Whom the IdP's SAML assertions named: each bench user's persistent NameID, shared by every worker
 * thread, phase and IdP of the run through shared memory (the IdPs of a run share the secret key and
 * the SP, so a user's NameID is the same at all of them). The driver cannot compute a persistent
 * NameID (a MAC under the IdP's key), but it can tell when the IdP names a user differently than
 * before, or names two users alike. NameIDs are kept as 64-bit fingerprints: a false alarm would need
 * two NameIDs of the run to collide in 64 bits.
 */
import { createHash } from 'node:crypto';
import { BenchError } from './http.ts';

/** Every user's first NameID can be held, and as many again of NameIDs that changed, before the table is full. */
const slotsFor = (users: number) => 2 * users + 16;

/** The shared memory of a run's ledger: a fingerprint per user, an open-addressing table fingerprint → user, and a count of checked assertions. */
export function subjectBuffer(users: number): SharedArrayBuffer {
  return new SharedArrayBuffer(8 * users + 12 * slotsFor(users) + 4);
}

function fingerprint(nameId: string): bigint {
  const print = createHash('sha256').update(nameId).digest().readBigInt64BE(0);
  return print === 0n ? 1n : print; // 0 marks an empty slot
}

export class SubjectLedger {
  /** The fingerprint of each user's first NameID (0: not seen yet). */
  readonly #byUser: BigInt64Array;
  readonly #prints: BigInt64Array;
  /** Owner of the fingerprint in the same slot, plus one (0: being written by another thread). */
  readonly #owners: Int32Array;
  readonly #checked: Int32Array;

  constructor(buffer: SharedArrayBuffer, users: number) {
    const slots = slotsFor(users);
    this.#byUser = new BigInt64Array(buffer, 0, users);
    this.#prints = new BigInt64Array(buffer, 8 * users, slots);
    this.#owners = new Int32Array(buffer, 8 * users + 8 * slots, slots);
    this.#checked = new Int32Array(buffer, 8 * users + 12 * slots, 1);
  }

  /** Assertions about a user that passed `note` so far: the check that counts a SAML sign-in leaves this trace. */
  get checked(): number {
    return Atomics.load(this.#checked, 0);
  }

  /** Records that an assertion named `user` by `nameId`; a BenchError when that NameID named another user, or the user had another one. */
  note(user: number, nameId: string): void {
    const print = fingerprint(nameId);
    const owner = this.#ownerOf(print, user);
    if (owner !== user) throw new BenchError('saml subject', `NameID ${nameId} for user${user} already named user${owner}`);
    const earlier = Atomics.compareExchange(this.#byUser, user, 0n, print);
    if (earlier !== 0n && earlier !== print) throw new BenchError('saml subject', `the NameID of user${user} changed to ${nameId}`);
    Atomics.add(this.#checked, 0, 1);
  }

  /** The user the fingerprint belongs to; claimed for `user` when no one had it. */
  #ownerOf(print: bigint, user: number): number {
    const slots = this.#prints.length;
    for (let probe = 0, slot = Number(BigInt.asUintN(32, print) % BigInt(slots)); probe < slots; probe++, slot = (slot + 1) % slots) {
      const held = Atomics.compareExchange(this.#prints, slot, 0n, print);
      if (held === 0n) {
        Atomics.store(this.#owners, slot, user + 1);
        return user;
      }
      if (held !== print) continue;
      let owner = Atomics.load(this.#owners, slot);
      // the thread that claimed it stores the owner right after its compareExchange
      while (owner === 0) owner = Atomics.load(this.#owners, slot);
      return owner - 1;
    }
    throw new BenchError('saml subject', 'more distinct NameIDs than twice the bench users: NameIDs are not stable per user');
  }
}

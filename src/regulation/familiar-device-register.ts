import type { KeyValue } from '../store/store.ts';
import { updateWithRetry } from '../store/update-with-retry.ts';
import type { FamiliarDevice } from './regulation.ts';
import { FAMILIAR_DEVICE_LIFETIME_SECONDS } from './familiar-devices.ts';

const NAMESPACE = 'familiar-devices';
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
}

/**
 * Which browsers an account is familiar from, kept in the store: a cookie (familiar-devices.ts) proves
 * a device only while its id is here. A password Stepgate changes or sets, and an admin unlock, forget
 * them all, so the browsers that proved only the previous password are strangers again; a sign-in
 * beyond MAX_FAMILIAR_DEVICES browsers forgets the one that signed in longest ago.
 */
export class FamiliarDeviceRegister {
  readonly #kv: KeyValue;

  constructor(kv: KeyValue) {
    this.#kv = kv;
  }

  async knows(device: FamiliarDevice): Promise<boolean> {
    return (await this.#kv.get<Register>(NAMESPACE, device.account))?.ids.includes(device.id) ?? false;
  }

  /** After the device's sign-in with the right password: it becomes (or stays) the most recent, kept as long as its cookie. */
  async add(device: FamiliarDevice): Promise<void> {
    await updateWithRetry<Register, void>(
      this.#kv,
      NAMESPACE,
      device.account,
      (stored) => ({ next: { ids: [...(stored?.ids ?? []).filter((id) => id !== device.id), device.id].slice(-MAX_FAMILIAR_DEVICES) }, options: { ttlSeconds: FAMILIAR_DEVICE_LIFETIME_SECONDS }, result: undefined }),
      MAX_CAS_ATTEMPTS,
    );
  }

  /** Every browser of the account is a stranger again. */
  async forget(account: string): Promise<void> {
    await this.#kv.delete(NAMESPACE, account);
  }
}

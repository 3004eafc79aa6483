import type { Request, Response } from 'express';
import type { Clock } from '../core/clock.ts';
import { randomId } from '../core/ids.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { CookieJar } from '../http/cookies.ts';
import { loginBucket } from './login-bucket.ts';
import type { FamiliarDevice } from './regulation.ts';

const COOKIE = 'sg_device';
/** A browser stays familiar this long after its last sign-in with the password, renewed once that sign-in is complete. */
export const FAMILIAR_DEVICE_LIFETIME_SECONDS = 90 * 24 * 60 * 60;
const SEAL_PURPOSE = 'familiar-device';

/** What the cookie holds, sealed. `issued`: epoch ms. */
interface SealedDevice {
  id: string;
  account: string;
  issued: number;
}

/**
 * The familiar-device cookie, given to a browser once a sign-in in it is complete (the password, and
 * the second factor when one was asked: FamiliarDeviceRegister): its later guesses at that account
 * then count apart from strangers' (see FamiliarDevice). The value is the
 * device's id, the account's id and the time it was issued, sealed (AES-GCM) with the server's secret
 * key and bound to the login name (its bucket) it was issued for; no password, and nothing that names
 * the account: the cookie outlives the sign-out, and with `users.idAttribute: mail` the id is the last
 * user's email at a shared computer. Sealed, not only MACed, because the regulator counts the device's
 * guesses under its account before the directory says which account the name is. So it cannot be made
 * for another account or name, is ignored when another name is typed, and a stolen one gives its
 * holder only the guesses of one more device. What the cookie proves, the account's register must
 * still know (FamiliarDeviceRegister, which the regulator asks): a password change or an unlock ends it.
 */
export class FamiliarDevices {
  readonly #box: SecretBox;
  readonly #cookies: CookieJar;
  readonly #clock: Clock;

  constructor(box: SecretBox, cookies: CookieJar, clock: Clock) {
    this.#box = box;
    this.#cookies = cookies;
    this.#clock = clock;
  }

  /** The device this request's cookie claims, when it was issued for `login` (any spelling of it) within its lifetime (see Regulator.familiar). */
  recognise(req: Request, login: string): FamiliarDevice | undefined {
    const value = this.#cookies.read(req, COOKIE);
    if (!value) return undefined;
    let device: SealedDevice;
    try {
      // Only this server seals with this purpose: what opens is its own JSON.
      device = JSON.parse(this.#box.openText(value, this.#purpose(login))) as SealedDevice;
    } catch {
      // Altered, issued for another name or with another key, or of the earlier readable form: a browser like any other.
      return undefined;
    }
    const age = this.#clock.now() - device.issued;
    if (!(age >= 0 && age < FAMILIAR_DEVICE_LIFETIME_SECONDS * 1000)) return undefined;
    return { id: device.id, account: device.account };
  }

  /**
   * The device this browser is for `account`, whose password it just proved. `proven`: the device its
   * cookie proved; the browser keeps its id (and its count) when it was for this account.
   */
  deviceFor(account: string, proven: FamiliarDevice | undefined): FamiliarDevice {
    return { id: proven?.account === account ? proven.id : randomId(16), account };
  }

  /** Gives the browser its cookie for `device`, or renews it, once it is familiar to the account under the name typed (`login`). */
  remember(res: Response, device: FamiliarDevice, login: string): void {
    const sealed: SealedDevice = { id: device.id, account: device.account, issued: this.#clock.now() };
    this.#cookies.set(res, COOKIE, this.#box.seal(JSON.stringify(sealed), this.#purpose(login)), { maxAgeSeconds: FAMILIAR_DEVICE_LIFETIME_SECONDS });
  }

  /** The name typed is the sealed value's additional data: a cookie for another name does not open. */
  #purpose(login: string): string {
    return `${SEAL_PURPOSE}\0${loginBucket(login)}`;
  }
}

import type { Request, Response } from 'express';
import type { Clock } from '../core/clock.ts';
import { randomId } from '../core/ids.ts';
import { safeEqual, type SecretBox } from '../core/secret-box.ts';
import type { CookieJar } from '../http/cookies.ts';
import { loginBucket } from './login-bucket.ts';
import type { FamiliarDevice } from './regulation.ts';

const COOKIE = 'sg_device';
/** A browser stays familiar this long after its last sign-in with the right password (each renews it). */
const LIFETIME_SECONDS = 90 * 24 * 60 * 60;
const MAC_PURPOSE = 'familiar-device';

/**
 * The familiar-device cookie, given to a browser once it signed in with the right password: its later
 * guesses at that account then count apart from strangers' (see FamiliarDevice). The value holds the
 * device's id, the account's id and the time it was issued, MACed with the server's secret key
 * together with the login name (its bucket) it was issued for; no password and no name. So it cannot
 * be made for another account or name, is ignored when another name is typed, and a stolen one gives
 * its holder only the guesses of one more device.
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

  /** The device this request's cookie proves, when it was issued for `login` (any spelling of it) within its lifetime. */
  recognise(req: Request, login: string): FamiliarDevice | undefined {
    const [id, encodedAccount, issued, mac, ...rest] = this.#cookies.read(req, COOKIE)?.split('.') ?? [];
    if (!id || !encodedAccount || !issued || !mac || rest.length > 0) return undefined;
    const age = this.#clock.now() - Number(issued);
    if (!(age >= 0 && age < LIFETIME_SECONDS * 1000)) return undefined;
    if (!safeEqual(mac, this.#mac(id, encodedAccount, issued, login))) return undefined;
    return { id, account: Buffer.from(encodedAccount, 'base64url').toString('utf8') };
  }

  /**
   * Gives the browser its cookie, or renews it, after `login` signed in to `account` with the right
   * password. `proven`: the device its cookie proved; the browser keeps its id (and its count) when it
   * was for this account.
   */
  remember(res: Response, account: string, login: string, proven: FamiliarDevice | undefined): void {
    const id = proven?.account === account ? proven.id : randomId(16);
    const encodedAccount = Buffer.from(account, 'utf8').toString('base64url');
    const issued = String(this.#clock.now());
    const value = [id, encodedAccount, issued, this.#mac(id, encodedAccount, issued, login)].join('.');
    this.#cookies.set(res, COOKIE, value, { maxAgeSeconds: LIFETIME_SECONDS });
  }

  #mac(id: string, encodedAccount: string, issued: string, login: string): string {
    return this.#box.mac(MAC_PURPOSE, [id, encodedAccount, issued, loginBucket(login)].join('\0'));
  }
}

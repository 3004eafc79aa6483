import type { Response } from 'express';
import type { LoginResult } from '../core/types.ts';
import type { Regulator } from '../regulation/regulator.ts';
import type { FamiliarDevices } from '../regulation/familiar-devices.ts';
import type { FamiliarDevice } from '../regulation/regulation.ts';
import type { ForgetMark } from '../regulation/familiar-device-register.ts';
import type { SessionService } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';

/**
 * What the password step knows of the browser: the name typed, the device its cookie proved for that
 * name, and the account's forget mark from before the password was checked (Regulator.forgetMark).
 */
export interface PasswordBrowser {
  login: string;
  proven: FamiliarDevice | undefined;
  forgetMark: ForgetMark;
}

/**
 * When a browser becomes familiar (its guesses then pass strangers' locks): not when the password is
 * right, but when a sign-in of the SSO session that password started is complete, with whatever the
 * application asked for. A password without the code it was asked for adds nothing and moves nothing
 * up: whoever phished a password but not the code cannot fill the account's list and push the user's
 * own browser out. A sign-in on the password alone makes the browser familiar as before; one with a
 * second factor makes it one that sign-ins on the password alone never push out.
 */
export class FamiliarBrowsers {
  readonly #regulator: Regulator;
  readonly #devices: FamiliarDevices;
  readonly #sessions: SessionService;

  /**
   * A browser proposed for a session waits only while the session can still complete a sign-in in
   * it: its end (a sign-out, "Not you?", an administrator, another person signing in, a
   * re-authentication's new session) drops it, and its idle timeout ends it as it ends the session.
   */
  constructor(regulator: Regulator, devices: FamiliarDevices, sessions: SessionService) {
    this.#regulator = regulator;
    this.#devices = devices;
    this.#sessions = sessions;
    sessions.onLogout((ended) => regulator.deviceSessionEnded(ended.id));
    sessions.onReplaced((previous) => regulator.deviceSessionEnded(previous.id));
    sessions.onUsed((session) => regulator.deviceSessionUsable(session.id, sessions.liveForBrowserUntil(session)));
  }

  /** The password `session` started with was typed in this browser. */
  async passwordProved(session: SsoSession, browser: PasswordBrowser): Promise<void> {
    const device = this.#devices.deviceFor(session.user.id, browser.proven);
    await this.#regulator.deviceProvedPassword(session.id, device, browser.login, this.#sessions.liveForBrowserUntil(session), browser.forgetMark);
  }

  /** A sign-in is complete, in the response `res` that answers it. */
  async signedIn(res: Response, result: Extract<LoginResult, { ok: true }>): Promise<void> {
    const secondFactor = result.factors.some((factor) => factor.method !== 'pwd');
    const familiar = await this.#regulator.deviceSignedIn(result.sessionId, result.user.id, { secondFactor });
    if (familiar) this.#devices.remember(res, familiar.device, familiar.login);
  }
}

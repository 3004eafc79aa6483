import type { Response } from 'express';
import type { LoginResult } from '../core/types.ts';
import type { Regulator } from '../regulation/regulator.ts';
import type { FamiliarDevices } from '../regulation/familiar-devices.ts';
import type { FamiliarDevice } from '../regulation/regulation.ts';
import type { SessionService } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';

/** What the password step knows of the browser: the name typed, and the device its cookie proved for that name. */
export interface PasswordBrowser {
  login: string;
  proven: FamiliarDevice | undefined;
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

  constructor(regulator: Regulator, devices: FamiliarDevices, sessions: SessionService) {
    this.#regulator = regulator;
    this.#devices = devices;
    this.#sessions = sessions;
  }

  /** The password `session` started with was typed in this browser. */
  async passwordProved(session: SsoSession, browser: PasswordBrowser): Promise<void> {
    await this.#regulator.deviceProvedPassword(session.id, this.#devices.deviceFor(session.user.id, browser.proven), browser.login, this.#sessions.endsAt(session));
  }

  /** A sign-in is complete, in the response `res` that answers it. */
  async signedIn(res: Response, result: Extract<LoginResult, { ok: true }>): Promise<void> {
    const secondFactor = result.factors.some((factor) => factor.method !== 'pwd');
    const familiar = await this.#regulator.deviceSignedIn(result.sessionId, result.user.id, { secondFactor });
    if (familiar) this.#devices.remember(res, familiar.device, familiar.login);
  }
}

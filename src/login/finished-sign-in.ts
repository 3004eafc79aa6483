import type { Request, Response } from 'express';
import type { LoginRequest } from '../core/types.ts';
import type { SsoSession } from '../session/sso-session.ts';
import { AppError } from '../core/errors.ts';
import { sendPage } from '../http/render.ts';
import { finishedSignInPage } from '../../views/login/finished.ts';
import type { FinishedAs } from './transaction.ts';
import { SECURITY_SETTINGS_PATH } from './account-messages.ts';
import { stepUrl } from './step-url.ts';

/** Where a user signed in here can go next: nothing of a finished sign-in can be sent again. */
const SIGN_OUT = '/logout';

/**
 * A page of a sign-in that has finished, reached again in its own browser (Back after signing in,
 * an old tab). Its answer went to the application once and is never sent again, and nothing is
 * issued without a new request from the application. The message stands for any answer that
 * cannot show the page (a form posted from an old tab, JSON).
 */
export class SignInFinished extends AppError {
  readonly rpName: string;
  readonly finished: FinishedAs;

  constructor(request: Pick<LoginRequest, 'rpId' | 'rpName'>, finished: FinishedAs, txId: string) {
    super('TRANSACTION_UNKNOWN', {
      userMessage: `This sign-in to ${request.rpName} has already finished. To go on, return to ${request.rpName}, or open it again.`,
      detail: { tx: txId.slice(0, 8), reason: 'finished', rp: request.rpId },
    });
    this.rpName = request.rpName;
    this.finished = finished;
  }
}

/**
 * The page for a finished sign-in (as Keycloak's "You are already logged in"): the user it signed in,
 * still signed in on this browser, is told so and where to go; anyone else (signed out since, another
 * person, or a sign-in that was refused or cancelled) only that it has ended, and to start again at the
 * application. Not an error for a page (200, logged at info). A form of it posted again (an old tab,
 * Back then Send) was not taken: it is sent to that page (Post/Redirect/Get), which says the same,
 * so Reload and Back do not send the form (a password, a code) again.
 */
export async function showFinishedSignIn(req: Request, res: Response, finished: SignInFinished, session: SsoSession | undefined, txId: string): Promise<void> {
  req.log.info({ ...finished.detail }, 'login: a page of a finished sign-in was asked for; told it has finished');
  if (req.method === 'POST') return res.redirect(303, stepUrl({ id: txId }));
  const signedIn = session !== undefined && finished.finished.userId !== undefined && session.user.id === finished.finished.userId;
  const page = finishedSignInPage({ rpName: finished.rpName, signedInAs: signedIn ? session.user : undefined, securityHref: SECURITY_SETTINGS_PATH, signOutHref: SIGN_OUT });
  sendPage(res, page);
}

import type { Response } from 'express';
import type { LoginTransaction } from '../transaction.ts';
import type { SsoSession } from '../../session/sso-session.ts';
import { sendPage } from '../../http/render.ts';
import { stepUrl } from '../step-url.ts';
import { messagePage } from '../../../views/message.ts';
import { answerForAnotherUserMessage } from '../../../views/mfa/messages.ts';

const SIGN_OUT = '/logout';

/** Where a code or setup form sent after another person signed in is answered (Post/Redirect/Get): the page below, while that is so. */
export function anotherUserUrl(tx: LoginTransaction, expected: 'mfa-challenge' | 'mfa-enroll'): string {
  return stepUrl(tx, expected === 'mfa-enroll' ? '/another-user?setup' : '/another-user');
}

/**
 * A code or setup form shown to one user, sent after another person signed in on this browser (in
 * another tab). The code is not taken (mfaAnswerContext), and the sign-in does not go on by itself:
 * its next step is the other person's, and for someone already past their second factor that step
 * completes the sign-in, so the application would get them from a page that named someone else.
 * Going on as them, or signing out first, is the user's choice, made on this page.
 */
export function showAnswerForAnotherUser(res: Response, tx: LoginTransaction, session: SsoSession, expected: 'mfa-challenge' | 'mfa-enroll'): void {
  const now = session.user.name && session.user.name !== session.user.username ? `${session.user.name} (${session.user.username})` : session.user.username;
  const { rpName } = tx.request;
  sendPage(
    res,
    messagePage({
      title: 'Someone else signed in',
      message: answerForAnotherUserMessage(now, rpName, expected === 'mfa-enroll'),
      link: [
        { href: stepUrl(tx), label: `Continue to ${rpName} as ${now}` },
        { href: SIGN_OUT, label: `Sign out ${now}` },
      ],
    }),
    409,
  );
}

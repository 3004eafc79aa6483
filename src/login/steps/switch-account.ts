import type { Request, Response } from 'express';
import type { LoginInteraction } from '../interaction.ts';
import { stepUrl } from '../step-url.ts';
import type { LoginTransaction } from '../transaction.ts';
import type { SsoSession } from '../../session/sso-session.ts';
import { SIGNED_IN_USER_FIELD, type SignedInAs } from '../../../views/login/signed-in-as.ts';
import type { LogoutPropagation } from '../../session/logout-propagation.ts';
import { firstSinceSignedOut } from '../signed-out-notice.ts';

/** What the code and setup pages (and the password asked again before a setup) say of whose sign-in they are for, and where their "Not you?" form goes. */
export function signedInAs(tx: LoginTransaction, session: SsoSession): SignedInAs {
  return { name: session.user.name, username: session.user.username, userId: session.user.id, switchAction: stepUrl(tx, '/switch-account') };
}

/**
 * "Not you? Sign in as someone else" on the code and setup pages (and the password page before a
 * setup): at a browser someone left signed in, the next person would otherwise type their own codes
 * as that user's wrong ones, and lock that user's codes. The session ends as by a sign-out (its applications are told: OIDC back-channel by the
 * session's end, SAML SPs through this browser by `propagate`, which then returns here), and the same
 * sign-in goes on at the password page, so the application still gets its answer.
 *
 * Only the user the page named (its form says whom; the CSRF token keeps other sites from saying it)
 * is signed out: a page left open while someone else signed in in another tab ends nobody's session,
 * and shows the step again, naming whoever is signed in now. Not the user the step was shown to
 * last: another tab may have shown this sign-in to the person who signed in there.
 */
export async function switchAccount(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, propagate?: LogoutPropagation): Promise<void> {
  const { sessions, audit } = interaction.deps;
  const session = await sessions.current(req);
  const named: unknown = req.body?.[SIGNED_IN_USER_FIELD];
  if (session && session.user.id === named) {
    const ended = await sessions.end(req, res, 'sso-logout');
    // The password page that follows is what the user asked for: it does not tell them they were signed out.
    await firstSinceSignedOut(interaction.deps.transactions, tx, undefined, true);
    if (ended) await audit.record({ type: 'logout', outcome: 'success', reason: 'switch-account', rp: tx.request.rpId, userId: ended.user.id, username: ended.user.username, ip: req.clientIp, requestId: req.requestId });
    if (ended && propagate && (await propagate(req, res, ended, stepUrl(tx)))) return;
  } else {
    req.log.info({ event: 'login.switch-account.stale', tx: tx.id.slice(0, 8), hasSession: !!session }, 'login: "sign in as someone else" from a page that named another user than the one signed in now; nobody signed out');
  }
  res.redirect(303, stepUrl(tx));
}

import type { LoginTransaction, TransactionStore } from './transaction.ts';
import type { SsoSession } from '../session/sso-session.ts';

/**
 * The password page of a sign-in whose session ended after its password (an administrator's `session
 * end`, `user disable` or `mfa reset`, a sign-out in another tab): said once, or the page reads as a
 * sign-in that started over by itself. The helpdesk can see who ended it.
 */
export const SIGNED_OUT_DURING_SIGN_IN = 'You were signed out (in another window or tab, or by an administrator), so this sign-in has to start again. Enter your username and password to go on. If you did not sign out, your helpdesk can tell you why.';

/** The SSO session this sign-in went on in: the one its second step was shown to, or the one its password started. */
function sessionOfSignIn(tx: LoginTransaction): string | undefined {
  return tx.mfa?.sessionId ?? tx.passwordSessionId;
}

/**
 * Whether the password page about to be shown without a session is the first since the session this
 * sign-in went on in ended; the transaction then records it (LoginTransaction.signedOutTold), so a
 * Reload does not say it again. `toldAlready`: the page says it in other words (a code sent after the
 * sign-out), or the user chose it ("Not you?"): only recorded.
 */
export async function firstSinceSignedOut(transactions: TransactionStore, tx: LoginTransaction, session: SsoSession | undefined, toldAlready = false): Promise<{ tx: LoginTransaction; tell: boolean }> {
  const ended = sessionOfSignIn(tx);
  if (session !== undefined || ended === undefined || tx.signedOutTold === ended) return { tx, tell: false };
  const told = { ...tx, signedOutTold: ended };
  await transactions.save(told);
  return { tx: told, tell: !toldAlready };
}

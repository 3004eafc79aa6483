import { AppError, ERROR_CATALOGUE } from '../core/errors.ts';

/**
 * The catalogue's SAML refusal texts (and the algorithm advice built on them, signature-algorithms.ts)
 * speak of a sign-in request. A person whose application sent a LogoutRequest, or answered ours,
 * was signing out: their page says that the sign-out message was refused, and what became of their
 * session here, so neither they nor the helpdesk go looking for a sign-in problem.
 */

type RefusalCode = 'SAML_REQUEST_INVALID' | 'SAML_SIGNATURE_INVALID';
type SignOutMessage = 'LogoutRequest' | 'LogoutResponse';

const REFUSED: Record<RefusalCode, Record<SignOutMessage, string>> = {
  SAML_REQUEST_INVALID: {
    LogoutRequest: 'The application sent a sign-out request that is not valid, so it was refused.',
    LogoutResponse: 'The application\'s answer to your sign-out is not valid, so it was refused.',
  },
  SAML_SIGNATURE_INVALID: {
    LogoutRequest: 'The application\'s sign-out request could not be verified as coming from it, so it was refused.',
    LogoutResponse: 'The application\'s answer to your sign-out could not be verified as coming from it, so it was refused.',
  },
};

/** A LogoutRequest is verified before any session is touched: a refused one ended nothing. */
export function refusedLogoutRequest(error: unknown, logoutUrl: string): unknown {
  return reworded(error, 'LogoutRequest', `Nothing was signed out here: if you were signed in, you still are. To sign out, go to ${logoutUrl}.`);
}

/**
 * An SP answers a LogoutRequest that Stepgate sends only once the session here has ended (slo-propagation.ts),
 * so a refused answer leaves the person signed out here, and that application unconfirmed.
 */
export function refusedLogoutResponse(error: unknown): unknown {
  return reworded(error, 'LogoutResponse', 'You are signed out of this sign-in service, but the application did not confirm that it signed you out too. Close the browser to be sure.');
}

/**
 * Swaps the catalogue's first sentence (the one every such refusal starts with) for the sign-out
 * one, keeps what follows it when it is advice of its own (SHA-1: what the SP's administrator must
 * change), and ends with `outcome`. A refusal already worded for sign-out is returned as it is.
 */
function reworded(error: unknown, message: SignOutMessage, outcome: string): unknown {
  if (!(error instanceof AppError) || !(error.code in REFUSED)) return error;
  const code = error.code as RefusalCode;
  const catalogue = ERROR_CATALOGUE[code].message;
  const signInSentence = catalogue.slice(0, catalogue.indexOf('.') + 1);
  if (!error.userMessage.startsWith(signInSentence)) return error;
  const advice = error.userMessage === catalogue ? '' : error.userMessage.slice(signInSentence.length).trim();
  const userMessage = [REFUSED[code][message], advice, outcome].filter(Boolean).join(' ');
  return new AppError(code, { userMessage, ...(error.detail ? { detail: error.detail } : {}), cause: error.cause });
}

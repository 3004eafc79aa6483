import { interactionPolicy } from 'oidc-provider';
import type { SsoState } from './sso-state.ts';
import type { OidcSignInError } from './binding.ts';

const { Check, Prompt, base } = interactionPolicy;

/** One check per error, because a Check's error is fixed; at most one of them fails for a request. */
const STEPGATE_CHECKS: ReadonlyArray<[reason: string, error: OidcSignInError, description: string]> = [
  ['stepgate_session', 'login_required', 'End-User authentication is required'],
  ['stepgate_interaction', 'interaction_required', 'Stepgate needs to show the End-User a page (e.g. a second factor)'],
  ['stepgate_policy', 'access_denied', 'the access policy of this application refuses the End-User'],
  ['stepgate_acr', 'unmet_authentication_requirements', 'the requested authentication context cannot be obtained'],
  ['stepgate_directory', 'temporarily_unavailable', 'the user directory cannot be reached to check the End-User'],
];

/** The description of `error` that prompt=none requests get. */
export function describeSignInError(error: OidcSignInError): string {
  return STEPGATE_CHECKS.find(([, checkError]) => checkError === error)![2];
}

/**
 * oidc-provider's default prompts, adjusted to Stepgate:
 * - login first asks Stepgate (SsoState.verdict): the provider session must mirror this browser's
 *   SSO session and Stepgate's flow must accept it for this client as it is. Otherwise the request
 *   goes through Stepgate's sign-in, or, with prompt=none, gets the matching error.
 * - consent is never asked: clients are registered by an administrator (first-party), and grants
 *   are created for what the client may ask for in `grants.ts`, so there is no consent page.
 *   prompt=consent is still accepted (OIDC Core 3.1.2.1 defines it; clients that always send it,
 *   as many do to get refresh tokens, would otherwise fail every sign-in): consent counts as given.
 * - prompt=select_account is accepted too: choosing an account is signing in again, so it asks for
 *   the password like prompt=login (binding.ts), where another account can be entered.
 */
export function stepgatePolicy(sso: SsoState): ReturnType<typeof base> {
  const policy = base();
  policy.remove('consent');
  for (const name of ['consent', 'select_account']) {
    // Requestable, so oidc-provider accepts the value; without its "was it resolved" check, it never asks.
    const answeredByStepgate = new Prompt({ name, requestable: true });
    answeredByStepgate.checks.remove(`${name}_prompt`);
    policy.add(answeredByStepgate);
  }
  const login = policy.get('login')!;
  STEPGATE_CHECKS.forEach(([reason, error, description], index) => {
    // The error is given explicitly: only checks passed to the Prompt constructor get the prompt's default.
    const check = new Check(reason, description, error, async (ctx) => ((await sso.verdict(ctx)) === error ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT));
    login.checks.add(check, index);
  });
  return policy;
}

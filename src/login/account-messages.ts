import type { AccountState } from '../directory/directory.ts';
import type { ErrorCode } from '../core/errors.ts';

/** Shown only after the password was verified, so they reveal nothing to someone guessing. */
export const ACCOUNT_STATE_ERRORS: Record<AccountState, ErrorCode> = {
  disabled: 'ACCOUNT_DISABLED',
  locked: 'ACCOUNT_LOCKED',
  expired: 'ACCOUNT_EXPIRED',
  'password-expired': 'PASSWORD_EXPIRED',
  'password-expired-no-grace': 'PASSWORD_EXPIRED_NO_GRACE',
  'must-change': 'PASSWORD_MUST_CHANGE',
};

/** "My security" (account-routes.ts): where users make new backup codes, from a sign-in's pages. */
export const SECURITY_SETTINGS_PATH = '/account/security';

/**
 * Where the refusal page of a password to change sends its form: "My security"'s change of that
 * password, taking over what the sign-in proved (PasswordChangeHandovers). `SIGN_IN_FIELD`: the sign-in's id.
 */
export const CHANGE_ON_SECURITY_PATH = '/account/security/change-password';
export const SIGN_IN_FIELD = 'signIn';

export const PASSWORD_CHANGE_REASONS = {
  'password-expired': 'Your password has expired. Choose a new one to continue.',
  'must-change': 'You must choose a new password before you continue.',
} as const;

/**
 * "My security" always takes the change (account-access.ts): a local user has no other password
 * service, and was left with nowhere to go.
 */
export const PASSWORD_CHANGE_NOT_ALLOWED = ' This application does not allow changing it here: change it on "My security" (/account/security on this sign-in service) or through your usual password service, then sign in again.';

/**
 * Why a first second factor cannot be set up from this network (mfa.enrollment.networks), and what
 * to do instead; `rpName`: the application of a sign-in that needs one (none on "My security").
 */
export function setupElsewhereMessage(rpName?: string): string {
  const need = rpName ? `${rpName} needs a second step when you sign in, and you have not set one up yet. ` : '';
  return `${need}For your security, a second step can only be set up from your organisation's network, and you are not connected to it now. Set it up from the office network (or its VPN), or contact your helpdesk.`;
}

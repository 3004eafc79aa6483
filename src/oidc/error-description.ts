import type { OidcSignInError } from './binding.ts';
import { describeSignInError } from './interaction-policy.ts';

/** RFC 6749 4.1.2.1: error_description is printable ASCII without `"` and `\` (%x20-21 / %x23-5B / %x5D-7E). */
const RFC6749_DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/**
 * The error_description sent to the client for a sign-in that ended without a login: the message
 * the user was shown when it fits the characters RFC 6749 allows there, else the description a
 * prompt=none request gets for the same error. An access policy's message is the administrator's
 * text or names the application ("You are not allowed to use Café."), often in the users' language;
 * the user has read it on Stepgate's page already.
 */
export function errorDescription(error: OidcSignInError, message: string): string {
  return RFC6749_DESCRIPTION.test(message) ? message : describeSignInError(error);
}

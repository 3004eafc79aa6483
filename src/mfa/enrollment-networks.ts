import type { MfaMethodId } from './mfa-method.ts';
import { ipInNetworks, type TrustedNetworks } from '../policy/networks.ts';

/** What one setup of a second factor is judged on; gathered by the caller, no I/O here. */
export interface EnrollmentFacts {
  /** Methods the user has set up already. */
  enrolledMethods: readonly MfaMethodId[];
  /** Client IP of the current request. */
  ip: string;
  /** `mfa.enrollment.networks`; undefined: anywhere. */
  enrollmentNetworks?: readonly string[];
  networks: TrustedNetworks;
  /**
   * The user moves their second factor to a new authenticator (a new phone): that voids their own, so
   * with a phished password and one phished code it would hand the account's second factor over as a
   * first setup would. It is held to the networks as a first setup is.
   */
  replacing?: boolean;
}

/**
 * Whether the user may set up a second factor from here. Only the first one is restricted: whoever
 * sets it up with nothing but the password (phished, say) owns the account's second factor from then
 * on, and the real user is asked for codes they cannot give. A user who has one already is not.
 */
export function maySetUpSecondFactor(facts: EnrollmentFacts): boolean {
  if ((facts.enrolledMethods.length > 0 && facts.replacing !== true) || facts.enrollmentNetworks === undefined) return true;
  return ipInNetworks(facts.ip, facts.enrollmentNetworks, facts.networks);
}

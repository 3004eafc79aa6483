import type { RequestedAuthnContext, User } from '../core/types.ts';
import { attributeValues } from '../core/user-attributes.ts';
import type { Conditions } from './policy-types.ts';
import type { MfaMethodId } from './levels.ts';
import { ipInNetworks, type TrustedNetworks } from './networks.ts';
import { inGroup, wildcardMatch } from './patterns.ts';
import { resolveAcr } from './requested-context.ts';

/** The facts a rule's conditions look at. */
export interface SubjectFacts {
  user: User;
  enrolledMethods: readonly MfaMethodId[];
  ip: string;
  requested?: RequestedAuthnContext;
}

function attributesMatch(user: User, wanted: Record<string, string[]>): boolean {
  return Object.entries(wanted).every(([name, patterns]) => {
    const values = attributeValues(user, name);
    return values.some((value) => patterns.some((pattern) => wildcardMatch(pattern, value)));
  });
}

function requestedMatch(requested: RequestedAuthnContext | undefined, wanted: string[]): boolean {
  const asked = new Set(requested?.values ?? []);
  return wanted.some((value) => asked.has(resolveAcr(value)));
}

/** True when every condition present holds. Pure. */
export function conditionsHold(when: Conditions | undefined, facts: SubjectFacts, networks: TrustedNetworks): boolean {
  if (!when) return true;
  if (when.groups && !when.groups.some((group) => inGroup(facts.user, group))) return false;
  if (when.attributes && !attributesMatch(facts.user, when.attributes)) return false;
  if (when.username && !when.username.some((pattern) => wildcardMatch(pattern, facts.user.username))) return false;
  if (when.networks && !ipInNetworks(facts.ip, when.networks, networks)) return false;
  if (when.requested && !requestedMatch(facts.requested, when.requested)) return false;
  if (when.mfaEnrolled !== undefined && when.mfaEnrolled !== facts.enrolledMethods.length > 0) return false;
  if (when.not && conditionsHold(when.not, facts, networks)) return false;
  return true;
}

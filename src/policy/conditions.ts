import type { RequestedAuthnContext, User } from '../core/types.ts';
import { attributeValues } from '../core/user-attributes.ts';
import type { Conditions } from './policy-types.ts';
import type { MfaMethodId } from './levels.ts';
import { ipInNetworks, type TrustedNetworks } from './networks.ts';
import { opposite, type Comparison } from './comparison.ts';
import { inGroup, lookAlikeGroups } from './group-references.ts';
import { patternMatches, patternsMatchAny } from './patterns.ts';
import { resolveAcr } from './requested-context.ts';

/** The facts a rule's conditions look at. */
export interface SubjectFacts {
  user: User;
  enrolledMethods: readonly MfaMethodId[];
  ip: string;
  requested?: RequestedAuthnContext;
}

function attributesMatch(user: User, wanted: Record<string, string[]>, comparison: Comparison): boolean {
  return Object.entries(wanted).every(([name, patterns]) => patternsMatchAny(patterns, attributeValues(user, name), comparison));
}

function requestedMatch(requested: RequestedAuthnContext | undefined, wanted: string[]): boolean {
  const asked = new Set(requested?.values ?? []);
  return wanted.some((value) => asked.has(resolveAcr(value)));
}

/**
 * True when every condition present holds, its names and patterns compared as `comparison` says and
 * those inside `not` the other way: `narrow` gives the least the conditions can be taken to say
 * (`not: {groups: [contractors]}` holds narrowly only for a user in no group that looks like
 * contractors), `broad` the most. Pure.
 */
export function conditionsHold(when: Conditions | undefined, facts: SubjectFacts, networks: TrustedNetworks, comparison: Comparison): boolean {
  if (!when) return true;
  if (when.groups && !when.groups.some((group) => inGroup(facts.user, group, comparison))) return false;
  if (when.attributes && !attributesMatch(facts.user, when.attributes, comparison)) return false;
  if (when.username && !when.username.some((pattern) => patternMatches(pattern, facts.user.username, comparison))) return false;
  if (when.networks && !ipInNetworks(facts.ip, when.networks, networks)) return false;
  if (when.requested && !requestedMatch(facts.requested, when.requested)) return false;
  if (when.mfaEnrolled !== undefined && when.mfaEnrolled !== facts.enrolledMethods.length > 0) return false;
  if (when.not && conditionsHold(when.not, facts, networks, opposite(comparison))) return false;
  return true;
}

/** A name or pattern of a rule, and a value of the user's that it takes in only one of the two ways. */
export interface LookAlike {
  /** `group`, `username`, or the attribute's name as the rule writes it. */
  condition: string;
  /** The rule's group reference or pattern. */
  wanted: string;
  /** The user's group, attribute value or username. */
  found: string;
}

/** The pairs that make conditions hold one way and not the other, for `policy explain`; `not`s included. */
export function lookAlikes(when: Conditions | undefined, user: User): LookAlike[] {
  if (!when) return [];
  const differ = (pattern: string, value: string) => patternMatches(pattern, value, 'narrow') !== patternMatches(pattern, value, 'broad');
  return [
    ...(when.groups ?? []).flatMap((wanted) => lookAlikeGroups(user, wanted).map((found) => ({ condition: 'group', wanted, found }))),
    ...Object.entries(when.attributes ?? {}).flatMap(([name, patterns]) =>
      patterns.flatMap((wanted) => attributeValues(user, name).filter((value) => differ(wanted, value)).map((found) => ({ condition: name, wanted, found }))),
    ),
    ...(when.username ?? []).filter((pattern) => differ(pattern, user.username)).map((wanted) => ({ condition: 'username', wanted, found: user.username })),
    ...lookAlikes(when.not, user),
  ];
}

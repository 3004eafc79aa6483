import type { MfaMethodId, AcrValue } from './levels.ts';

/**
 * Conditions of one rule; every condition present must hold (AND). Lists inside a condition are
 * alternatives (OR). An empty `when` matches everyone. Names and patterns compare without case; a
 * look-alike (`admın`, `ＡＤＭＩＮ`, `straße` for `strasse`) counts only where that refuses or asks more
 * (policy-engine.ts, evaluatePolicy).
 */
export interface Conditions {
  /** Member of any of these groups: a group name or a DN. Nesting is resolved by the directory. */
  groups?: string[];
  /** For every attribute named, some value matches one of its patterns (`*` wildcard, case-insensitive). */
  attributes?: Record<string, string[]>;
  /** The username matches one of these patterns. */
  username?: string[];
  /** The client IP is inside one of these: a named trusted network, `*` (any trusted network) or a CIDR. */
  networks?: string[];
  /** The application asked for one of these authentication contexts (ACR URI, or `password` / `mfa`). */
  requested?: string[];
  /** The user has (true) or has not (false) any second-factor method enrolled. */
  mfaEnrolled?: boolean;
  /** Holds when the nested conditions do not all hold ("outside trusted networks", "not in group"). */
  not?: Conditions;
}

export type Action =
  | { effect: 'permit' }
  /** `message` is shown to the user in plain words. */
  | { effect: 'deny'; message?: string }
  /** `methods`: which second factors count (default: any). `maxAgeSec`: how old the factor may be. */
  | { effect: 'require-mfa'; methods?: MfaMethodId[]; maxAgeSec?: number };

export interface Rule {
  name?: string;
  when?: Conditions;
  then: Action;
}

/** The AD FS-style templates; each expands to rules (see templates.ts). */
export const TEMPLATE_IDS = [
  'permit-everyone',
  'permit-everyone-require-mfa',
  'permit-specific-groups',
  'permit-everyone-require-mfa-outside-trusted-networks',
  'permit-everyone-require-mfa-for-groups',
  'deny-everyone',
] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

export interface TemplateParameters {
  groups?: string[];
  networks?: string[];
  methods?: MfaMethodId[];
  maxAgeSec?: number;
  message?: string;
}

/** What an administrator writes: either a template with its parameters or an ordered list of rules. */
export type PolicyDefinition = { name: string; description?: string } & ({ template: TemplateId; parameters?: TemplateParameters } | { rules: Rule[] });

/** A policy ready for the engine: always a list of rules, first match decides (failing closed for look-alikes: evaluatePolicy). */
export interface Policy {
  name: string;
  description: string;
  /** 'missing': a relying party names a policy that does not exist; it denies everyone (fail closed). */
  source: 'built-in' | 'custom' | 'missing';
  rules: Rule[];
}

/** Which rule produced a decision; index -1 when no rule matched (deny). */
export interface RuleRef {
  index: number;
  name: string;
}

export type Decision = (
  | { effect: 'allow'; acr: AcrValue }
  | { effect: 'step-up'; anyOf: MfaMethodId[]; maxAgeSec?: number; acr: AcrValue }
  | { effect: 'deny'; message: string }
  /** The application's RequestedAuthnContext / essential acr cannot be met together with the policy. */
  | { effect: 'unmet'; message: string }
) & { policy: string; rule: RuleRef };

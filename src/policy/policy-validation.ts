import { z } from 'zod';
import type { Conditions, PolicyDefinition, Rule } from './policy-types.ts';
import { TEMPLATE_IDS } from './policy-types.ts';
import { MFA_METHOD_IDS, type MfaMethodId } from './levels.ts';
import { ANY_TRUSTED_NETWORK, isCidrLiteral, parseCidr } from './networks.ts';
import { groupReferenceProblem } from './patterns.ts';
import { isKnownAcr } from './requested-context.ts';
import { isAttributeName } from '../core/user-attributes.ts';

/**
 * The second factors this installation has: the MFA registry (src/mfa/build-mfa.ts) holds TOTP only.
 * The policy format also names methods still to come (MFA_METHOD_IDS); a rule that counts only those
 * would refuse every sign-in it decides, with nothing said when the policy was saved.
 */
export const AVAILABLE_MFA_METHODS: readonly MfaMethodId[] = ['totp'];

const nonEmptyList = z.array(z.string().min(1)).min(1);
const method = z.enum(MFA_METHOD_IDS, { error: (issue) => `unknown method ${JSON.stringify(issue.input)} (available in this installation: ${AVAILABLE_MFA_METHODS.join(', ')})` });
const maxAgeSec = z.number().int().positive();

const conditionsSchema: z.ZodType<Conditions> = z.lazy(() =>
  z.strictObject({
    groups: nonEmptyList.optional(),
    attributes: z
      .record(z.string(), nonEmptyList)
      .superRefine((attributes, ctx) => {
        // A `__proto__` key never gets here (the record drops it): validatePolicyDefinition refuses it before.
        if (Object.keys(attributes).length === 0) ctx.addIssue({ code: 'custom', message: 'names no attribute (a condition on no attribute would hold for everyone)' });
        for (const name of Object.keys(attributes)) {
          if (!isAttributeName(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not an attribute name (letters, digits and "-", starting with a letter)` });
        }
      })
      .optional(),
    username: nonEmptyList.optional(),
    networks: nonEmptyList.optional(),
    requested: nonEmptyList.optional(),
    mfaEnrolled: z.boolean().optional(),
    not: conditionsSchema.optional(),
  }),
);

const actionSchema = z.discriminatedUnion('effect', [
  z.strictObject({ effect: z.literal('permit') }),
  z.strictObject({ effect: z.literal('deny'), message: z.string().min(1).max(500).optional() }),
  z.strictObject({ effect: z.literal('require-mfa'), methods: z.array(method).min(1).optional(), maxAgeSec: maxAgeSec.optional() }),
]);

const ruleSchema = z.strictObject({ name: z.string().min(1).max(100).optional(), when: conditionsSchema.optional(), then: actionSchema });

const common = { name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-" only, at most 64'), description: z.string().max(300).optional() };

const templateDefinition = z.strictObject({
    ...common,
    template: z.enum(TEMPLATE_IDS, { error: (issue) => `unknown template ${JSON.stringify(issue.input)} (known: ${TEMPLATE_IDS.join(', ')})` }),
    parameters: z
      .strictObject({ groups: nonEmptyList.optional(), networks: nonEmptyList.optional(), methods: z.array(method).min(1).optional(), maxAgeSec: maxAgeSec.optional(), message: z.string().min(1).max(500).optional() })
      .optional(),
});
const rulesDefinition = z.strictObject({ ...common, rules: z.array(ruleSchema).min(1, 'a policy needs at least one rule') });

export interface ValidationContext {
  /** Names of the configured trusted networks. */
  networkNames: readonly string[];
  /** Names that may not be redefined (the built-in policies). */
  reservedNames: readonly string[];
}

export type ValidationResult = { ok: true; definition: PolicyDefinition } | { ok: false; errors: string[] };

function checkConditions(when: Conditions, path: string, context: ValidationContext, errors: string[]): void {
  when.groups?.forEach((group, i) => {
    const problem = groupReferenceProblem(group);
    if (problem) errors.push(`${path}.groups[${i}]: "${group}" ${problem}`);
  });
  when.networks?.forEach((network, i) => checkNetwork(network, `${path}.networks[${i}]`, context, errors));
  when.requested?.forEach((value, i) => {
    if (!isKnownAcr(value)) errors.push(`${path}.requested[${i}]: "${value}" is not a known authentication context (use password, mfa or their URIs)`);
  });
  if (when.not) checkConditions(when.not, `${path}.not`, context, errors);
}

function checkNetwork(network: string, path: string, context: ValidationContext, errors: string[]): void {
  if (isCidrLiteral(network)) {
    if (!parseCidr(network)) errors.push(`${path}: "${network}" is not a valid IPv4 or IPv6 CIDR`);
  } else if (network !== ANY_TRUSTED_NETWORK && !context.networkNames.includes(network)) {
    errors.push(`${path}: unknown trusted network "${network}" (configured: ${context.networkNames.join(', ') || 'none'}; or use "*" or a CIDR)`);
  }
}

function checkMethods(methods: readonly MfaMethodId[] | undefined, path: string, owner: string, errors: string[]): void {
  methods?.forEach((method, i) => {
    if (!AVAILABLE_MFA_METHODS.includes(method)) errors.push(`${path}[${i}]: ${owner} asks for "${method}", which this installation does not have (available: ${AVAILABLE_MFA_METHODS.join(', ')})`);
  });
}

/** rules[0].then.methods[1], the same style as the semantic checks below. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i ? '.' : ''}${String(key)}`)).join('');
}

/**
 * Where raw input (parsed JSON) has an own key named `__proto__`: a schema reading it into a new object
 * drops it without a word, which for a condition means one condition less (a wider rule).
 */
function protoKeyPaths(value: unknown, path: PropertyKey[] = []): PropertyKey[][] {
  if (typeof value !== 'object' || value === null) return [];
  const here = Object.hasOwn(value, '__proto__') ? [path] : [];
  const children = Array.isArray(value) ? value.map((child, index) => [index, child] as const) : Object.entries(value);
  return [...here, ...children.flatMap(([key, child]) => protoKeyPaths(child, [...path, key]))];
}

/** Checks a policy as an administrator wrote it; every problem is reported with its path, nothing is half-accepted. */
export function validatePolicyDefinition(input: unknown, context: ValidationContext): ValidationResult {
  const protoKeys = protoKeyPaths(input);
  if (protoKeys.length > 0) return { ok: false, errors: protoKeys.map((path) => `${formatPath(path) || '(policy)'}: the key "__proto__" is not allowed (it would be dropped, and the rule with it would hold more widely)`) };
  // Chosen by shape rather than z.union, so errors point into the branch the author meant.
  const isTemplate = typeof input === 'object' && input !== null && 'template' in input;
  const parsed = (isTemplate ? templateDefinition : rulesDefinition).safeParse(input);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((issue) => `${formatPath(issue.path) || '(policy)'}: ${issue.message}`) };
  const definition = parsed.data as PolicyDefinition;
  const errors: string[] = [];
  if (context.reservedNames.includes(definition.name)) errors.push(`name: "${definition.name}" is a built-in policy and cannot be redefined`);
  if ('template' in definition) {
    const parameters = definition.parameters ?? {};
    const needsGroups = definition.template === 'permit-specific-groups' || definition.template === 'permit-everyone-require-mfa-for-groups';
    if (needsGroups && !parameters.groups) errors.push(`parameters.groups: template ${definition.template} needs at least one group`);
    checkConditions({ groups: parameters.groups }, 'parameters', context, errors);
    parameters.networks?.forEach((network, i) => checkNetwork(network, `parameters.networks[${i}]`, context, errors));
    checkMethods(parameters.methods, 'parameters.methods', `template ${definition.template}`, errors);
  } else {
    definition.rules.forEach((rule: Rule, i) => {
      if (rule.when) checkConditions(rule.when, `rules[${i}].when`, context, errors);
      if (rule.then.effect === 'require-mfa') checkMethods(rule.then.methods, `rules[${i}].then.methods`, rule.name ? `rule "${rule.name}"` : `rule #${i + 1}`, errors);
    });
  }
  return errors.length ? { ok: false, errors } : { ok: true, definition };
}

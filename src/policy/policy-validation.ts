import { z } from 'zod';
import type { Conditions, PolicyDefinition, Rule, TemplateId, TemplateParameters } from './policy-types.ts';
import { TEMPLATE_IDS } from './policy-types.ts';
import { TEMPLATE_PARAMETERS } from './templates.ts';
import { MFA_METHOD_IDS, type MfaMethodId } from './levels.ts';
import { ANY_TRUSTED_NETWORK } from './networks.ts';
import { isCidrLiteral, parseCidr } from '../core/ip-ranges.ts';
import { groupReferenceProblem, isOneRdnDn } from './group-references.ts';
import { terminalSafe } from '../core/terminal-text.ts';
import { isKnownAcr } from './requested-context.ts';
import { ruleName } from './policy-engine.ts';
import { isAttributeName } from '../core/user-attributes.ts';
import { plainIssueMessage } from '../config/plain-issue.ts';

/**
 * The second factors this installation has: the MFA registry (src/mfa/build-mfa.ts) holds TOTP only.
 * The policy format also names methods still to come (MFA_METHOD_IDS); a rule that counts only those
 * would refuse every sign-in it decides, with nothing said when the policy was saved.
 */
export const AVAILABLE_MFA_METHODS: readonly MfaMethodId[] = ['totp'];

/**
 * Far beyond any policy written by hand. Every sign-in at an application evaluates its whole policy,
 * so a pasted mistake (a rule per user, a log line as a pattern) would slow each one.
 */
export const POLICY_LIMITS = { rules: 1000, patternLength: 1024, notDepth: 32 } as const;
/** How deep a valid policy's objects and lists nest: policy, rules, rule, when, the nots, attributes, a list. */
const MAX_NESTING = 4 + POLICY_LIMITS.notDepth + 2;

const pattern = z.string().min(1).max(POLICY_LIMITS.patternLength, `longer than ${POLICY_LIMITS.patternLength} characters`);
const nonEmptyList = z.array(pattern).min(1);
/** Rule names and descriptions reach the admin's terminal (`policy explain`, `policy list`): a line break there would forge a line. */
const PLAIN_TEXT = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;
const NOT_PLAIN_TEXT = 'must not contain control or format characters (line breaks, tabs, direction marks)';
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
const rulesDefinition = z.strictObject({ ...common, rules: z.array(ruleSchema).min(1, 'a policy needs at least one rule').max(POLICY_LIMITS.rules, `a policy has at most ${POLICY_LIMITS.rules} rules`) });

export interface ValidationContext {
  /** Names of the configured trusted networks. */
  networkNames: readonly string[];
  /** Names that may not be redefined (the built-in policies). */
  reservedNames: readonly string[];
}

/**
 * `warnings`: what would be refused as written today but an earlier version saved (the `lint` of Findings),
 * when the caller asked for those as warnings.
 */
export type ValidationResult = { ok: true; definition: PolicyDefinition; warnings: string[] } | { ok: false; errors: string[] };

/**
 * `lint`: a policy that does less than it says (a rule never reached, a template parameter ignored, a
 * `not` of nothing, control characters in its free text) or names two rules alike. Refused when an
 * administrator writes one; an earlier version saved such policies, and they still run, so a
 * configuration file holding them (a backup) is imported with a warning rather than refused as a whole.
 */
interface Findings {
  errors: string[];
  lint: string[];
}

function checkConditions(when: Conditions, path: string, context: ValidationContext, found: Findings): void {
  when.groups?.forEach((group, i) => {
    const problem = groupReferenceProblem(group);
    if (problem) found.errors.push(`${path}.groups[${i}]: "${group}" ${problem}`);
    else if (isOneRdnDn(group)) found.lint.push(`${path}.groups[${i}]: "${terminalSafe(group)}" is a DN of one part, which names no directory group, so the rule could never match one: write the group's whole DN (as cn=staff,ou=groups,dc=example,dc=org), or its name alone to match a group of that name wherever it is; for a local user's memberof value of one part, use an attributes condition ({"attributes": {"memberof": ["cn=staff"]}})`);
  });
  when.networks?.forEach((network, i) => checkNetwork(network, `${path}.networks[${i}]`, context, found.errors));
  when.requested?.forEach((value, i) => {
    if (!isKnownAcr(value)) found.errors.push(`${path}.requested[${i}]: "${value}" is not a known authentication context (use password, mfa or their URIs)`);
  });
  if (when.not && isCatchAll(when.not)) found.lint.push(`${path}.not: is empty; an empty condition holds for everyone, so its "not" holds for no one and the rule could never match`);
  if (when.not) checkConditions(when.not, `${path}.not`, context, found);
}

/** A rule without conditions decides for everyone: any rule after it is never reached. */
function isCatchAll(when: Conditions | undefined): boolean {
  return !when || Object.keys(when).length === 0;
}

/** A rule as messages name it; its name is the administrator's text, escaped for the terminal (see terminalSafe). */
function ruleLabel(rule: Rule, index: number): string {
  return rule.name ? `rule #${index + 1} "${terminalSafe(rule.name)}"` : `rule #${index + 1}`;
}

function checkRules(rules: readonly Rule[], context: ValidationContext, found: Findings): void {
  rules.forEach((rule, i) => {
    if (rule.name !== undefined && !PLAIN_TEXT.test(rule.name)) found.lint.push(`rules[${i}].name: ${NOT_PLAIN_TEXT}`);
    if (rule.when) checkConditions(rule.when, `rules[${i}].when`, context, found);
    if (rule.then.effect === 'require-mfa') checkMethods(rule.then.methods, `rules[${i}].then.methods`, rule.name ? `rule "${terminalSafe(rule.name)}"` : `rule #${i + 1}`, found.errors);
  });
  checkRuleNames(rules, found);
  const catchAll = rules.findIndex((rule) => isCatchAll(rule.when));
  if (catchAll < 0) return;
  rules.forEach((rule, index) => {
    if (index > catchAll) found.lint.push(`rules[${index}]: ${ruleLabel(rule, index)} can never match: ${ruleLabel(rules[catchAll]!, catchAll)} before it has no conditions and decides for everyone`);
  });
}

/**
 * Two rules called alike (a name written twice, or a rule named "rule 3" beside the third rule without
 * a name, which is called so) cannot be told apart where a rule is named: the audit of a refusal,
 * a trace read beside it.
 */
function checkRuleNames(rules: readonly Rule[], found: Findings): void {
  const firstWithName = new Map<string, number>();
  rules.forEach((rule, index) => {
    const name = ruleName(rule, index);
    const first = firstWithName.get(name);
    if (first === undefined) firstWithName.set(name, index);
    else found.lint.push(`rules[${index}]${rule.name === undefined ? '' : '.name'}: rule #${index + 1} and rule #${first + 1} are both called "${terminalSafe(name)}" (a rule without a name is called "rule N" after its place); give each rule a name of its own`);
  });
}

/** Which templates read a parameter, for the advice when another template was given it. */
function templatesTaking(parameter: keyof TemplateParameters): TemplateId[] {
  return TEMPLATE_IDS.filter((template) => TEMPLATE_PARAMETERS[template].includes(parameter));
}

function checkTemplate(template: TemplateId, parameters: TemplateParameters, context: ValidationContext, found: Findings): void {
  const { errors } = found;
  const takes = TEMPLATE_PARAMETERS[template];
  for (const parameter of Object.keys(parameters) as (keyof TemplateParameters)[]) {
    if (takes.includes(parameter)) continue;
    const others = templatesTaking(parameter);
    found.lint.push(`parameters.${parameter}: template ${template} takes no ${parameter}, it would be ignored (its parameters: ${takes.join(', ') || 'none'}); use ${others.join(' or ')}, or write rules`);
  }
  if (takes.includes('groups')) {
    if (!parameters.groups) errors.push(`parameters.groups: template ${template} needs at least one group`);
    checkConditions({ groups: parameters.groups }, 'parameters', context, found);
  }
  if (takes.includes('networks')) parameters.networks?.forEach((network, i) => checkNetwork(network, `parameters.networks[${i}]`, context, errors));
  if (takes.includes('methods')) checkMethods(parameters.methods, 'parameters.methods', `template ${template}`, errors);
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function notDepth(when: unknown): number {
  let depth = 0;
  for (let conditions = when; isObject(conditions) && Object.hasOwn(conditions, 'not') && depth <= POLICY_LIMITS.notDepth; conditions = conditions.not) depth += 1;
  return depth;
}

/** How deep objects and lists nest in the input, found without recursion (MAX_NESTING + 1 at most). */
function nestingOf(input: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[input, 1]];
  while (pending.length > 0 && deepest <= MAX_NESTING) {
    const [value, depth] = pending.pop()!;
    if (!isObject(value)) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Checked on the raw input before anything walks it recursively (protoKeyPaths, the schema's `not`),
 * so that nesting thousands deep gets an answer instead of overflowing the stack.
 */
function nestingProblems(input: unknown): string[] {
  const rules = isObject(input) && Array.isArray(input.rules) ? input.rules : [];
  const deepNots = rules.flatMap((rule: unknown, i) => (notDepth(isObject(rule) ? rule.when : undefined) > POLICY_LIMITS.notDepth ? [`rules[${i}].when: "not" is nested more than ${POLICY_LIMITS.notDepth} deep`] : []));
  if (deepNots.length > 0) return deepNots;
  return nestingOf(input) > MAX_NESTING ? [`(policy): nested more than ${MAX_NESTING} levels deep, deeper than any valid policy`] : [];
}

/**
 * Checks a policy as an administrator wrote it; every problem is reported with its path, nothing is
 * half-accepted. `lint: 'warn'` (a configuration import) accepts what an earlier version saved, with
 * warnings (see Findings).
 */
export function validatePolicyDefinition(input: unknown, context: ValidationContext, options: { lint: 'refuse' | 'warn' } = { lint: 'refuse' }): ValidationResult {
  const tooDeep = nestingProblems(input);
  if (tooDeep.length > 0) return { ok: false, errors: tooDeep };
  const protoKeys = protoKeyPaths(input);
  if (protoKeys.length > 0) return { ok: false, errors: protoKeys.map((path) => `${formatPath(path) || '(policy)'}: the key "__proto__" is not allowed (it would be dropped, and the rule with it would hold more widely)`) };
  // Chosen by shape rather than z.union, so errors point into the branch the author meant.
  const isTemplate = typeof input === 'object' && input !== null && 'template' in input;
  const parsed = (isTemplate ? templateDefinition : rulesDefinition).safeParse(input);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((issue) => `${formatPath(issue.path) || '(policy)'}: ${plainIssueMessage(issue)}`) };
  const definition = parsed.data as PolicyDefinition;
  const found: Findings = { errors: [], lint: [] };
  if (context.reservedNames.includes(definition.name)) found.errors.push(`name: "${definition.name}" is a built-in policy and cannot be redefined`);
  if (definition.description !== undefined && !PLAIN_TEXT.test(definition.description)) found.lint.push(`description: ${NOT_PLAIN_TEXT}`);
  if ('template' in definition) checkTemplate(definition.template, definition.parameters ?? {}, context, found);
  else checkRules(definition.rules, context, found);
  const errors = options.lint === 'refuse' ? [...found.errors, ...found.lint] : found.errors;
  return errors.length ? { ok: false, errors } : { ok: true, definition, warnings: found.lint };
}

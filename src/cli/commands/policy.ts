import { isDeepStrictEqual } from 'node:util';
import type { CliCommand, CliContext } from '../command.ts';
import { pathOption, UsageError } from '../command.ts';
import { InputFileError, readInputFile } from '../read-input-file.ts';
import { terminalSafe } from '../../core/terminal-text.ts';
import { AVAILABLE_MFA_METHODS, POLICY_LIMITS } from '../../policy/policy-validation.ts';
import { TEMPLATE_IDS } from '../../policy/policy-types.ts';
import { TEMPLATE_PARAMETERS } from '../../policy/templates.ts';
import { SP_COLLECTION, type ServiceProviderRecord } from '../../saml/sp-types.ts';
import { OIDC_CLIENTS, type OidcClientRecord } from '../../oidc/client-registry.ts';
import { explain } from './policy-explain.ts';
import { auditAdminAction } from '../admin-audit.ts';
import { checkConfiguredPolicies } from '../../policy/build-policies.ts';
import { ConfigError } from '../../config/load.ts';

/** What names the policy: SAML SPs, OIDC clients, and the "my security" page's setting. */
async function policyUsers(context: CliContext, name: string): Promise<string[]> {
  const store = await context.store();
  const sps = (await store.collection<ServiceProviderRecord>(SP_COLLECTION).list()).filter((sp) => sp.settings.policy === name).map((sp) => `SAML SP ${sp.id}`);
  const clients = (await store.collection<OidcClientRecord>(OIDC_CLIENTS).list()).filter((client) => client.policy === name).map((client) => `OIDC client ${client.id} (${client.name})`);
  return [...sps, ...clients, ...(context.config.policies.account === name ? ['the "my security" page (policies.account)'] : [])];
}

/**
 * What `policy show NAME` prints without --definition: the engine's rules beside the policy's source (and a custom
 * policy's definition). No definition has a `source`, so its presence tells the two apart.
 */
function showOutputSource(input: unknown): 'built-in' | 'custom' | undefined {
  if (typeof input !== 'object' || input === null || !('source' in input)) return undefined;
  return input.source === 'built-in' || input.source === 'custom' ? input.source : undefined;
}

export const policyCommands: CliCommand[] = [
  {
    name: 'policy list',
    summary: 'list access policies (built-in and custom)',
    help: `Usage: npm run cli -- policy list

Lists every policy by name; the configured default is marked with *, and a policies.default or
policies.account that names no policy is warned about on stderr. A custom policy that policy set
would refuse as it is stored (saved by an earlier version, whose checks were looser, or naming a
trusted network the configuration no longer has) still applies as saved; a line under it says so,
and policy show NAME says why.`,
    options: {},
    arguments: [],
    async run(_args, context) {
      const policies = await context.policies();
      const refused = await policies.storedProblems();
      for (const policy of await policies.list()) {
        context.out(`${policy.name === policies.defaultPolicy ? '*' : ' '} ${policy.name.padEnd(54)} ${policy.source.padEnd(8)} ${terminalSafe(policy.description)}`);
        if (policy.source === 'custom' && refused.has(policy.name)) context.out(`    ! policy set would refuse it as stored; it applies as saved (policy show ${policy.name} says why)`);
      }
      // A configuration the server refuses to start with: listed here, or nothing would mark it.
      await checkConfiguredPolicies(context.config, policies).catch((error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
        for (const issue of error.issues) context.err(`Warning: ${issue}; the server does not start with this configuration (npm run cli -- config validate)`);
      });
      return 0;
    },
  },
  {
    name: 'policy show',
    summary: 'print a policy and its rules as JSON',
    help: `Usage: npm run cli -- policy show NAME [--definition]

Prints the definition (custom policies) and the rules the engine evaluates, in order. For a custom
policy that policy set would refuse as it is stored, a note on stderr names each problem.
  --definition   only the definition of a custom policy: a file policy set --file takes as it is
                 (policy show NAME --definition > policy.json; edit it; policy set --file policy.json)`,
    options: { definition: 'flag' },
    arguments: ['NAME'],
    async run(args, context) {
      const name = args.positional[0]!;
      const policies = await context.policies();
      const policy = await policies.get(name);
      if (!policy) {
        context.err(`No policy named "${name}".`);
        return 1;
      }
      const definition = await policies.definition(name);
      if (args.options.definition === true && !definition) {
        context.err(`"${name}" is built in: it has no definition to edit. Write a custom policy for policy set --file instead (policy set --help).`);
        return 1;
      }
      context.out(JSON.stringify(args.options.definition === true ? definition : { ...policy, definition }, null, 2));
      // On stderr: the JSON stays whole for whoever reads it from stdout.
      const problems = policy.source === 'custom' ? (await policies.storedProblems()).get(name) : undefined;
      if (problems) context.err([`Note: policy set would refuse this policy as it is stored; it applies as saved. Correct it with policy set --file FILE (policy show NAME --definition prints the definition to start from):`, ...problems.map((problem) => `  - ${terminalSafe(problem)}`)].join('\n'));
      return 0;
    },
  },
  {
    name: 'policy set',
    summary: 'add or replace a custom policy from a JSON file (validated first)',
    help: `Usage: npm run cli -- policy set --file policy.json

The file holds either a template with parameters:
  {"name": "staff-only", "template": "permit-specific-groups", "parameters": {"groups": ["staff"], "message": "Staff only."}}
or ordered rules (first match decides):
  {"name": "admins-fresh-mfa", "rules": [
    {"name": "admins", "when": {"groups": ["cn=admins,ou=groups,dc=example,dc=org"]}, "then": {"effect": "require-mfa", "methods": ["totp"], "maxAgeSec": 3600}},
    {"name": "office", "when": {"networks": ["office"]}, "then": {"effect": "permit"}},
    {"name": "others", "then": {"effect": "require-mfa"}}]}
Conditions: groups, attributes {"memberof": ["cn=*admins*"]}, username ["ext-*"], networks (names, "*", CIDRs),
requested ["mfa"], mfaEnrolled true|false, not {...}. Actions: permit, deny (message), require-mfa (methods, maxAgeSec).
Methods: ${AVAILABLE_MFA_METHODS.join(', ')} (what this installation has; a policy naming another method is refused).
Templates and the parameters each takes (any other is refused, as it would be ignored):
${TEMPLATE_IDS.map((template) => `  ${template}: ${TEMPLATE_PARAMETERS[template].join(', ') || 'none'}`).join('\n')}
A rule after one without conditions (which decides for everyone) and a "not" of nothing are refused:
they could never match. So are two rules called alike (a rule without a name is called "rule N"
after its place N): the audit of a refusal names the rule, with its place. At most ${POLICY_LIMITS.rules} rules, ${POLICY_LIMITS.patternLength} characters per pattern, "not" ${POLICY_LIMITS.notDepth} deep.
Every problem is reported and nothing is saved unless the whole policy is valid.`,
    options: { file: 'string' },
    arguments: [],
    async run(args, context) {
      const file = pathOption(args, 'file');
      if (!file) throw new UsageError('--file is required');
      let input: unknown;
      try {
        input = JSON.parse(readInputFile(file));
      } catch (error) {
        context.err(error instanceof InputFileError ? `${error.message}.` : `${file}: cannot be read as JSON (${(error as Error).message})`);
        return 1;
      }
      const shownSource = showOutputSource(input);
      if (shownSource === 'custom') {
        context.err(`${file} is policy show's output, whose rules are the engine's and not what policy set reads: give it the definition, which policy show NAME --definition prints.`);
        return 1;
      }
      if (shownSource === 'built-in') {
        context.err(`${file} is policy show's output for a built-in policy, which cannot be changed: write a custom policy under a name of its own, from a template or with rules (policy set --help).`);
        return 1;
      }
      const policies = await context.policies();
      const checked = policies.validate(input);
      // Saved again from the same file (a script, a second administrator), it says so, and no event names a change not made.
      if (checked.ok && isDeepStrictEqual(await policies.definition(checked.definition.name), checked.definition)) {
        context.out(`Policy ${checked.definition.name} has this definition already; nothing changed.`);
        return 0;
      }
      const result = await policies.save(input);
      if (!result.ok) {
        context.err(`Policy not saved:\n${result.errors.map((error) => `  - ${error}`).join('\n')}`);
        return 1;
      }
      context.out(`Saved policy ${result.definition.name}.`);
      await auditAdminAction(context, { type: 'policy.set', policy: result.definition.name, file });
      return 0;
    },
  },
  {
    name: 'policy remove',
    summary: 'remove a custom policy',
    help: `Usage: npm run cli -- policy remove NAME [--force]

Built-in policies and the configured default cannot be removed. A policy that SAML SPs, OIDC clients
or the "my security" page (policies.account) still name is not removed: the command names them, so
you can move them to another policy first (sp set / client set --policy). --force removes it anyway,
and those applications then deny every sign-in.`,
    options: { force: 'flag' },
    arguments: ['NAME'],
    async run(args, context) {
      const name = args.positional[0]!;
      const policies = await context.policies();
      const users = await policyUsers(context, name);
      if (users.length > 0 && args.options.force !== true) {
        const how = [users.some((user) => !user.startsWith('the "my security"')) && 'sp set / client set --policy', users.some((user) => user.startsWith('the "my security"')) && 'policies.account in the configuration file'].filter(Boolean).join('; ');
        context.err(`"${name}" is the policy of ${users.join(', ')}; give them another policy first (${how}), or add --force (they would deny every sign-in).`);
        return 1;
      }
      const outcome = await policies.remove(name);
      const messages = { removed: `Removed policy ${name}.`, 'not-found': `No custom policy named "${name}".`, 'built-in': `"${name}" is built in and cannot be removed.`, 'is-default': `"${name}" is the configured default policy (policies.default); change the configuration first.` };
      if (outcome !== 'removed') {
        context.err(messages[outcome]);
        return 1;
      }
      context.out(messages[outcome]);
      await auditAdminAction(context, { type: 'policy.remove', policy: name });
      return 0;
    },
  },
  explain,
];

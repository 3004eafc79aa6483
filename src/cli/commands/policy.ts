import { readFileSync } from 'node:fs';
import type { CliCommand, CliContext, ParsedArgs } from '../command.ts';
import { pathOption, stringOption, UsageError } from '../command.ts';
import type { Protocol, RequestedAuthnContext } from '../../core/types.ts';
import type { FlowStep } from '../../login/flow.ts';
import { nextStep } from '../../login/flow.ts';
import { buildPolicies } from '../../policy/build-policies.ts';
import { decide } from '../../policy/policy-engine.ts';
import { explainDecision } from '../../policy/explain.ts';
import { AVAILABLE_MFA_METHODS } from '../../policy/policy-validation.ts';
import { resolveAcr } from '../../policy/requested-context.ts';
import { buildMfa } from '../../mfa/build-mfa.ts';
import { createDirectory } from '../../build-services.ts';
import { createLogger } from '../../core/log.ts';
import { SP_COLLECTION, type ServiceProviderRecord } from '../../saml/sp-types.ts';
import { OIDC_CLIENTS, type OidcClientRecord } from '../../oidc/client-registry.ts';
import { auditAdminAction } from '../admin-audit.ts';

async function policyStore(context: CliContext) {
  return buildPolicies(context.config, await context.store(), context.clock);
}

/** A relying party by SAML entityID or OIDC client_id, as far as policy cares. */
async function findApp(context: CliContext, id: string): Promise<{ protocol: Protocol; name: string; policy?: string } | undefined> {
  const store = await context.store();
  const sp = await store.collection<ServiceProviderRecord>(SP_COLLECTION).get(id);
  if (sp) return { protocol: 'saml', name: sp.name, policy: sp.settings.policy };
  const client = await store.collection<OidcClientRecord>(OIDC_CLIENTS).get(id);
  return client ? { protocol: 'oidc', name: client.name, policy: client.policy } : undefined;
}

/** What the browser shows for a flow step: the same words for every template, so tests can compare. */
export function describeStep(step: FlowStep): string {
  switch (step.kind) {
    case 'complete':
      return step.result.ok ? `signed in (acr ${step.result.acr}; amr ${step.result.amr.join(' ')})` : `the application gets the error ${step.result.error}`;
    case 'mfa-challenge':
      return `asked for a second factor (${step.methods.join(' or ')})`;
    case 'mfa-enroll':
      return `asked to set up a second factor (${step.methods.join(' or ')})`;
    case 'denied':
      return `access denied: "${step.message}"`;
    default:
      return `asked for ${step.kind}`;
  }
}

function requestedFrom(args: ParsedArgs): RequestedAuthnContext | undefined {
  const acr = stringOption(args, 'acr');
  if (!acr) return undefined;
  const comparison = stringOption(args, 'comparison') ?? 'exact';
  if (!['exact', 'minimum', 'better', 'maximum'].includes(comparison)) throw new UsageError('--comparison takes exact, minimum, better or maximum');
  return { values: acr.split(',').map((value) => resolveAcr(value.trim())), comparison: comparison as RequestedAuthnContext['comparison'], essential: args.options.essential === true };
}

const explain: CliCommand = {
  name: 'policy explain',
  summary: 'show which rule decides for a user, an application and a client IP',
  help: `Usage: npm run cli -- policy explain --user alice (--app <entityID|client_id> | --policy NAME) [options]

Evaluates the access policy exactly as a sign-in would, right after a correct password, and prints
each rule up to the one that decided, the decision, and what the browser then shows.
  --ip ADDRESS          the client IP (without it: outside every trusted network)
  --mfa-age SECONDS     the session also has a second factor made this long ago
  --acr V[,V]           what the application requested (password, mfa or ACR URIs)
  --comparison C        exact (default), minimum, better or maximum
  --essential           the request binds (OIDC essential acr claim; SAML always binds)
  --protocol saml|oidc  with --policy (default oidc)
Example: npm run cli -- policy explain --user alice --app https://sp.example.org --ip 203.0.113.7`,
  async run(args, context) {
    const username = stringOption(args, 'user');
    const appId = stringOption(args, 'app');
    if (!username || (!appId && !stringOption(args, 'policy'))) throw new UsageError('--user and --app (or --policy) are required');
    // The application's own policy decides for it; a --policy beside it would be ignored while the output seemed to answer for it.
    if (appId && stringOption(args, 'policy')) throw new UsageError('give --app or --policy, not both (with --app the application\'s own policy is explained)');
    const app = appId ? await findApp(context, appId) : undefined;
    if (appId && !app) {
      context.err(`No SAML service provider or OIDC client is registered as "${appId}".`);
      return 1;
    }
    const store = await context.store();
    const directory = await createDirectory(context.config, store, createLogger('error'), context.clock);
    try {
      const user = await directory.findUser(username);
      if (!user) {
        context.err(`No user "${username}" in the ${context.config.directory.kind} directory.`);
        return 1;
      }
      const { policies, networks } = await policyStore(context);
      const policy = await policies.resolve(app ? app.policy : stringOption(args, 'policy'));
      const mfa = buildMfa(context.config, store, context.box(), context.clock);
      const now = context.clock.now();
      const mfaAge = stringOption(args, 'mfa-age');
      const factors = [{ method: 'pwd' as const, at: now }, ...(mfaAge !== undefined ? [{ method: 'otp' as const, at: now - Number(mfaAge) * 1000 }] : [])];
      const enrolledMethods = await mfa.registry.enrolledMethods(user);
      const ip = stringOption(args, 'ip') ?? 'unknown';
      const protocol: Protocol = app?.protocol ?? (stringOption(args, 'protocol') === 'saml' ? 'saml' : 'oidc');
      const requested = requestedFrom(args);
      const decided = decide({ policy, user, enrolledMethods, factors, network: { ip }, protocol, requested, now }, networks);
      // A rule without methods lets the engine count every method the policy format knows; only the ones installed here can be asked for.
      const installed = decided.effect === 'step-up' ? decided.anyOf.filter((method) => mfa.registry.get(method)) : [];
      const decision = decided.effect === 'step-up' && installed.length ? { ...decided, anyOf: installed } : decided;
      context.out(`user      ${user.username} (groups: ${user.groups.join(', ') || 'none'}; second factors: ${enrolledMethods.join(', ') || 'none'})`);
      context.out(`app       ${app ? `${app.name} (${protocol} ${appId})` : '(none: --policy given)'}   client IP ${ip}`);
      for (const line of explainDecision(policy, decision, { user, enrolledMethods, ip, requested }, networks)) context.out(line);
      const session = { id: 'explain', user, createdAt: now, lastSeenAt: now, authTime: now, factors, participants: [] };
      const request = { protocol, rpId: appId ?? 'explain', rpName: app?.name ?? 'explain', rp: { policy: policy.name, allowPasswordChange: false }, handoff: { finisher: 'explain', ref: '' }, forceAuthn: false, passive: false, requestedAuthnContext: requested };
      const step = nextStep({ id: 'explain', request, createdAt: now, passwordSessionId: session.id }, session, { now, policy, networks, ip, enrolledMethods, enrollableMethods: mfa.registry.enrollableMethods() });
      context.out(`browser   ${describeStep(step)}`);
      return 0;
    } finally {
      await directory.close();
    }
  },
};

export const policyCommands: CliCommand[] = [
  {
    name: 'policy list',
    summary: 'list access policies (built-in and custom)',
    help: 'Usage: npm run cli -- policy list\n\nLists every policy by name; the configured default is marked with *.',
    async run(_args, context) {
      const { policies } = await policyStore(context);
      for (const policy of await policies.list()) context.out(`${policy.name === policies.defaultPolicy ? '*' : ' '} ${policy.name.padEnd(54)} ${policy.source.padEnd(8)} ${policy.description}`);
      return 0;
    },
  },
  {
    name: 'policy show',
    summary: 'print a policy and its rules as JSON',
    help: 'Usage: npm run cli -- policy show NAME\n\nPrints the definition (custom policies) and the rules the engine evaluates, in order.',
    async run(args, context) {
      const name = args.positional[0];
      if (!name) throw new UsageError('a policy name is required');
      const { policies } = await policyStore(context);
      const policy = await policies.get(name);
      if (!policy) {
        context.err(`No policy named "${name}".`);
        return 1;
      }
      context.out(JSON.stringify({ ...policy, definition: await policies.definition(name) }, null, 2));
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
Templates: permit-everyone, permit-everyone-require-mfa, permit-specific-groups,
permit-everyone-require-mfa-outside-trusted-networks, permit-everyone-require-mfa-for-groups, deny-everyone.
Every problem is reported and nothing is saved unless the whole policy is valid.`,
    async run(args, context) {
      const file = pathOption(args, 'file');
      if (!file) throw new UsageError('--file is required');
      let input: unknown;
      try {
        input = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        context.err(`${file}: cannot be read as JSON (${(error as Error).message})`);
        return 1;
      }
      const { policies } = await policyStore(context);
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
    help: 'Usage: npm run cli -- policy remove NAME\n\nBuilt-in policies and the configured default cannot be removed. Applications that still name a removed policy deny every sign-in.',
    async run(args, context) {
      const name = args.positional[0];
      if (!name) throw new UsageError('a policy name is required');
      const { policies } = await policyStore(context);
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

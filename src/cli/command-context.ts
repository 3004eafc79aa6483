import type { CliContext, CommandContext } from './command.ts';
import { buildPolicies } from '../policy/build-policies.ts';
import { buildMfa } from '../mfa/build-mfa.ts';
import { clientRegistry } from '../oidc/client-registry.ts';
import { createSpRegistry } from '../saml/sp-registry.ts';
import { LocalUserAdmin } from '../directory/local-user-admin.ts';

/** `build`, run on the first call only; later calls get the same answer. */
function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => (built ??= build());
}

/** The one place the CLI builds what its commands share; each is built when a command first asks for it. */
export function commandContext(context: CliContext): CommandContext {
  const { config, clock } = context;
  const policies = once(async () => buildPolicies(config, await context.store(), clock));
  return {
    ...context,
    policies: async () => (await policies()).policies,
    trustedNetworks: async () => (await policies()).networks,
    mfa: once(async () => buildMfa(config, await context.store(), context.box(), clock)),
    clients: once(async () => clientRegistry(await context.store(), context.box(), clock)),
    serviceProviders: once(async () => createSpRegistry(await context.store(), clock)),
    localUsers: once(async () => new LocalUserAdmin(await context.store(), config, clock)),
  };
}

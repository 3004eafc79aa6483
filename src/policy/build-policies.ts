import type { Config } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError } from '../config/load.ts';
import { POLICY_COLLECTION, PolicyStore, type PolicyRecord } from './policy-store.ts';
import { compileNetworks, type TrustedNetworks } from './networks.ts';
import { BUILT_IN_POLICIES } from './templates.ts';

/** The policy store and trusted networks; shared by the server's composition root and the CLI. */
export function buildPolicies(config: Config, store: Store, clock: Clock): { policies: PolicyStore; networks: TrustedNetworks } {
  const networks = compileNetworks(config.trustedNetworks);
  const policies = new PolicyStore(store.collection<PolicyRecord>(POLICY_COLLECTION), { defaultPolicy: config.policies.default, networkNames: Object.keys(config.trustedNetworks) }, clock);
  return { policies, networks };
}

/** A default or account policy that does not exist would deny every sign-in: refuse to start instead. */
export async function checkConfiguredPolicies(config: Config, policies: Pick<PolicyStore, 'get'>): Promise<void> {
  const missing: string[] = [];
  for (const [key, name] of [['policies.default', config.policies.default], ['policies.account', config.policies.account]] as const) {
    if (!(await policies.get(name))) missing.push(`${key}: no policy named "${name}" (built-in: ${BUILT_IN_POLICIES.map((policy) => policy.name).join(', ')}; or save one with \`policy set\`)`);
  }
  if (missing.length) throw new ConfigError(missing);
}

/** The policies a data directory not yet made can name: the built-in ones. */
export function builtInPoliciesOnly(): Pick<PolicyStore, 'get'> {
  return { get: async (name: string) => BUILT_IN_POLICIES.find((policy) => policy.name === name) };
}

import type { PolicyStore } from '../policy/policy-store.ts';
import type { CommandContext } from './command.ts';

/**
 * Why `name` is refused where a policy is named: none has that name here. The names that exist are
 * listed, so a typo shows. Undefined when the policy exists (built-in or saved with `policy set`).
 */
export async function unknownPolicy(policies: PolicyStore, name: string): Promise<string | undefined> {
  if (await policies.get(name)) return undefined;
  return `no policy named ${JSON.stringify(name)}. Known policies: ${(await policies.list()).map((known) => known.name).join(', ')}`;
}

/** The policy an application is given (client and sp add/set) must exist; says why not when it does not. */
export async function policyExists(context: CommandContext, name: string): Promise<boolean> {
  const unknown = await unknownPolicy(await context.policies(), name);
  if (unknown) context.err(unknown.charAt(0).toUpperCase() + unknown.slice(1));
  return unknown === undefined;
}

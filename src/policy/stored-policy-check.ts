import type { Logger } from '../core/log.ts';
import type { PolicyStore } from './policy-store.ts';

/**
 * At start, one warning per custom policy `policy set` would refuse as it is stored (see
 * PolicyStore.storedProblems). An upgrade brings stricter checks but leaves the stored policies as
 * they were, and some of them do less than they say (template parameters ignored: groups given to
 * permit-everyone let everyone in); nothing else would tell the administrator which.
 */
export async function warnOfRefusedPolicies(policies: PolicyStore, logger: Logger): Promise<void> {
  for (const [name, problems] of await policies.storedProblems()) {
    logger.warn(
      { event: 'policy.refused-as-stored', policy: name, problems },
      `custom policy "${name}" does not pass the checks of \`policy set\` (${problems.join('; ')}). It still applies as saved; correct it with \`policy set --file FILE\` (\`policy show ${name}\` prints its definition)`,
    );
  }
}

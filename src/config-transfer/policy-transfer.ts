import { z } from 'zod';
import { POLICY_COLLECTION, type PolicyRecord } from '../policy/policy-store.ts';
import type { PolicyDefinition } from '../policy/policy-types.ts';
import { timestampSchema, type RecordTransfer, type TransferContext } from './record-transfer.ts';

/** The definition's shape is left to the policy validator, which reports every problem with its path. */
const exportedPolicySchema = z.strictObject({ id: z.string().min(1), definition: z.custom<PolicyDefinition>(), updatedAt: timestampSchema });

export type ExportedPolicy = z.infer<typeof exportedPolicySchema>;

export function policyTransfer(context: TransferContext): RecordTransfer<ExportedPolicy, PolicyRecord> {
  const { policies } = context;
  const records = context.store.collection<PolicyRecord>(POLICY_COLLECTION);
  return {
    noun: 'policy',
    collection: POLICY_COLLECTION,
    schema: exportedPolicySchema,
    list: () => records.list(),
    exported: ({ id, definition, updatedAt }) => ({ id, definition, updatedAt }),
    admit(policy) {
      // Validated against this installation: its trusted network names and its built-in policies. What
      // an earlier version saved and the policy checks now refuse (a rule never reached ...) still runs
      // there, so a backup holding it comes in, with a warning, rather than being refused whole.
      const result = policies.validate(policy.definition, { lint: 'warn' });
      if (!result.ok) return { ok: false, problems: result.errors };
      if (result.definition.name !== policy.id) return { ok: false, problems: [`its definition is named "${result.definition.name}"`] };
      const outdated = result.warnings.map((warning) => `${warning} (accepted: an earlier version allowed this, and \`policy set\` refuses it: correct it with \`policy set --file FILE\`; \`policy show ${policy.id}\` prints its definition)`);
      return { ok: true, record: { id: policy.id, definition: result.definition, updatedAt: policy.updatedAt }, warnings: [], outdated };
    },
  };
}

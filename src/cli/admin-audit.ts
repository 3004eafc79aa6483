import { userInfo } from 'node:os';
import type { CliContext } from './command.ts';
import type { AuditEvent } from '../store/store.ts';

/** The operating-system account running the CLI: the audit log's answer to "who changed this". */
function osUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): the event is still written.
    return undefined;
  }
}

/**
 * An administrator's action taken with the CLI, in the audit log: what happened to which record,
 * `via: 'cli'`, and the operating-system account that ran it.
 */
export async function auditAdminAction(context: CliContext, event: { type: string; outcome?: AuditEvent['outcome']; [field: string]: unknown }): Promise<void> {
  await (await context.store()).audit.record({ outcome: 'success', ...event, via: 'cli', osUser: osUser() });
}

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
 * Who ran `sudo -u <service user> … cli`, as sudo tells the command: run that way, as the README
 * advises, osUser is the service user for every administrator. It comes from the environment of
 * someone who may already run the CLI (and so write the data directory): a record of who it was,
 * not a proof.
 */
function sudoFields(): { sudoUser?: string; sudoUid?: number } {
  const { SUDO_USER: sudoUser, SUDO_UID: sudoUid } = process.env;
  return { ...(sudoUser ? { sudoUser } : {}), ...(sudoUid && /^\d+$/.test(sudoUid) ? { sudoUid: Number(sudoUid) } : {}) };
}

/**
 * An administrator's action taken with the CLI, in the audit log: what happened to which record,
 * `via: 'cli'`, the run's `commandId`, the operating-system account that ran it and, run through sudo, the one that ran sudo.
 */
export async function auditAdminAction(context: CliContext, event: { type: string; outcome?: AuditEvent['outcome']; [field: string]: unknown }): Promise<void> {
  await (await context.store()).audit.record({ outcome: 'success', ...event, via: 'cli', commandId: context.commandId, osUser: osUser(), ...sudoFields() });
}

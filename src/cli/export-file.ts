import type { CliContext } from './command.ts';
import { auditAdminAction } from './admin-audit.ts';
import { FileWriteError } from './write-private-file.ts';

/**
 * Runs one check or write of an export's --out file: 0 when it went through; when it was refused
 * (FileWriteError: the file exists, it is a link or a device, its folder is missing, a full disk), the
 * reason on stderr, a `failure` audit record of the export, and exit 1. Both exports hold every
 * secret of their kind, so an attempt that wrote nothing is on record as much as one that did.
 */
export async function exportWriteRefusal(context: CliContext, type: 'config.export' | 'mfa.export', file: string, write: () => void): Promise<number> {
  try {
    write();
    return 0;
  } catch (error) {
    if (!(error instanceof FileWriteError)) throw error;
    // Said first: on a full disk the audit log, often on the same disk, may not take the record either.
    context.err(error.message);
    await auditAdminAction(context, { type, outcome: 'failure', file, reason: error.message });
    return 1;
  }
}

import type { CliCommand } from '../command.ts';
import { reissueBootstrapSecret } from '../../admin/bootstrap.ts';
import { auditAdminAction } from '../admin-audit.ts';
import { publicIdentityForTool } from '../../config/public-identity.ts';

export const adminCommands: CliCommand[] = [
  {
    name: 'admin bootstrap-secret',
    summary: 'issue a new one-time bootstrap secret (only while no administrator exists)',
    help: `Usage: npm run cli -- admin bootstrap-secret

Prints a new one-time secret for /admin/bootstrap, for when the one printed at first start was lost.
The previous secret stops working. Refused (exit 1) once an administrator exists: the bootstrap is
then closed for good. A running server takes the new secret within a second.

The address printed uses the public URL given to this command (PUBLIC_URL, server.publicUrl), or
else the one the server recorded at its last start on the data directory; it says which.`,
    options: {},
    arguments: [],
    async run(_args, context) {
      const store = await context.store();
      const secret = await reissueBootstrapSecret(store, context.clock.now());
      if (secret === undefined) {
        context.err('An administrator exists already: the bootstrap is closed, and no new secret is issued.');
        return 1;
      }
      await auditAdminAction(context, { type: 'admin.bootstrap-secret', outcome: 'info' });
      const identity = await publicIdentityForTool(store, context.config);
      if (identity.mismatch) context.err(identity.mismatch);
      context.err(identity.source);
      context.out(`One-time admin bootstrap secret: ${secret}`);
      context.out(`Create the first administrator at ${identity.config.server.publicUrl}/admin/bootstrap`);
      return 0;
    },
  },
];

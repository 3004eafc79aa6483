import type { CliCommand } from '../command.ts';
import { reissueBootstrapSecret } from '../../admin/bootstrap.ts';
import { auditAdminAction } from '../admin-audit.ts';

export const adminCommands: CliCommand[] = [
  {
    name: 'admin bootstrap-secret',
    summary: 'issue a new one-time bootstrap secret (only while no administrator exists)',
    help: `Usage: npm run cli -- admin bootstrap-secret

Prints a new one-time secret for /admin/bootstrap, for when the one printed at first start was lost.
The previous secret stops working. Refused (exit 1) once an administrator exists: the bootstrap is
then closed for good. A running server takes the new secret within a second.`,
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
      context.out(`One-time admin bootstrap secret: ${secret}`);
      context.out(`Create the first administrator at ${context.config.server.publicUrl}/admin/bootstrap`);
      return 0;
    },
  },
];

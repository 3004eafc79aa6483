import type { CliContext } from './command.ts';
import type { Directory } from '../directory/directory.ts';
import { createDirectory } from '../build-services.ts';
import { createLogger } from '../core/log.ts';

/**
 * The configured directory for one CLI command, closed afterwards. The commands that name a user
 * (mfa unlock/reset, session list/end --user, user unlock) look the name up in it as a sign-in does:
 * DOMAIN\user, user@domain, an email, any case, and the name a renamed LDAP user has now.
 */
export async function withDirectory<T>(context: CliContext, use: (directory: Directory) => Promise<T>): Promise<T> {
  const directory = await createDirectory(context.config, await context.store(), createLogger('error').child({ cmdId: context.commandId }), context.clock);
  try {
    return await use(directory);
  } finally {
    await directory.close();
  }
}

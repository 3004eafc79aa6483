import { LocalUserAdmin, type UserChanges } from '../../src/directory/local-user-admin.ts';
import type { Services } from '../../src/services.ts';

/** Adds a local user with a password through the same admin service the CLI uses. */
export async function addLocalUser(services: Services, username: string, password: string, changes: UserChanges = {}): Promise<string> {
  const admin = new LocalUserAdmin(services.store, services.config, services.clock);
  const record = await admin.add(username, { email: `${username}@example.org`, name: `${username[0]!.toUpperCase()}${username.slice(1)} Example`, ...changes });
  const problem = await admin.setPassword(username, password, { mustChange: changes.mustChangePassword });
  if (problem) throw new Error(problem);
  return record.id;
}

import { boot, type Booted } from './boot.ts';
import { createUser } from './oidc-rp.ts';
import { TestSp } from './saml-sp.ts';

export const ALICE = { username: 'alice', password: 'correct horse 42' };

/** A server whose SSO sessions end 3 hours after they start, with ALICE as a local user and an SP (`spName`) that wants its assertions signed and gets the response signed too. */
export async function bootWithSessionEnd(spName: string): Promise<{ app: Booted; sp: TestSp }> {
  const app = await boot({ session: { absoluteTimeoutHours: 3 } });
  await createUser(app, ALICE);
  const sp = await TestSp.create(app, { name: spName, wantAssertionsSigned: true, register: { sign: 'both' } });
  return { app, sp };
}

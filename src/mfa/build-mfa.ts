import type { Config } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { Clock } from '../core/clock.ts';
import { localUsers } from '../directory/local-users.ts';
import { MfaRegistry } from './registry.ts';
import { TotpMethod } from './totp/totp-method.ts';
import { ENROLLMENT_COLLECTION, TotpEnrollments, type TotpEnrollment } from './totp/totp-enrollments.ts';
import { TotpStateStore } from './totp/totp-state.ts';
import { BackupCodes } from './totp/backup-codes.ts';
import { TotpAdmin } from './totp/totp-admin.ts';
import type { Regulator } from '../regulation/regulator.ts';

export interface MfaServices {
  registry: MfaRegistry;
  /** The registry's TOTP method, typed as such: read by no route (they go through `registry`), here for tests that enroll users. */
  totp: TotpMethod;
  totpAdmin: TotpAdmin;
  enrollments: TotpEnrollments;
  backupCodes: BackupCodes;
}

/**
 * Builds the second-factor methods; shared by the server's composition root and the CLI. `clients`:
 * the server's regulator, which counts wrong codes per client (the CLI checks no codes).
 */
export function buildMfa(config: Config, store: Store, box: SecretBox, clock: Clock, clients?: Regulator): MfaServices {
  const enrollments = new TotpEnrollments(store.collection<TotpEnrollment>(ENROLLMENT_COLLECTION), store.kv, box);
  const state = new TotpStateStore(store.kv);
  const backupCodes = new BackupCodes(store.kv, box);
  const settings = config.mfa.totp;
  const totp = new TotpMethod({ enrollments, state, backupCodes, clock, settings, clients });
  const knownUsers = async () => (config.directory.kind === 'local' ? (await localUsers(store).list()).map(({ id, username }) => ({ id, username })) : []);
  const totpAdmin = new TotpAdmin({ enrollments, state, backupCodes, clock, settings, knownUsers });
  return { registry: new MfaRegistry([totp]), totp, totpAdmin, enrollments, backupCodes };
}

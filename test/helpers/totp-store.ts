import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { User } from '../../src/core/types.ts';
import { TotpMethod, type TotpDeps, type TotpSettings } from '../../src/mfa/totp/totp-method.ts';
import { TotpEnrollments, type TotpEnrollment } from '../../src/mfa/totp/totp-enrollments.ts';
import { TotpStateStore } from '../../src/mfa/totp/totp-state.ts';
import { BackupCodes } from '../../src/mfa/totp/backup-codes.ts';
import { TotpAdmin } from '../../src/mfa/totp/totp-admin.ts';
import { oathtoolTotp, type OathOptions } from './oathtool.ts';

/** The TOTP settings the tests start from: the server's defaults, under a test issuer. */
export const TOTP_TEST_SETTINGS: TotpSettings = { issuer: 'Stepgate Test', digits: 6, periodSeconds: 30, algorithm: 'sha1', clockSkewSeconds: 30, maxFailures: 5, autoUnlockMinutes: 15, backupCodes: 10 };

/** The SSO session (browser) a test enrolls in: pending secrets belong to one. */
export const ENROLLING_SESSION = 'session-1';

export interface TotpStore {
  dir: string;
  store: LowdbStore;
  box: SecretBox;
  /** Closes the store and removes its folder. */
  remove(): Promise<void>;
}

/** A sealed store in a new temporary folder (`prefix` names it), with a key of its own, as the TOTP records are kept. */
export async function openTotpStore(prefix: string, clock: Clock): Promise<TotpStore> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const box = new SecretBox(randomBytes(32));
  const store = await new LowdbStore(dir, clock, { sealer: journalSealer(box) }).open();
  return {
    dir,
    store,
    box,
    remove: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The TOTP method and the administrator's view of it on `at`'s store, wired as the server wires them. */
export function totpParts(at: Pick<TotpStore, 'store' | 'box'>, clock: Clock, settings: TotpSettings, clients?: TotpDeps['clients']) {
  const enrollments = new TotpEnrollments(at.store.collection<TotpEnrollment>('mfa-enrollments'), at.store.kv, at.box);
  const state = new TotpStateStore(at.store.kv);
  const backupCodes = new BackupCodes(at.store.kv, at.box);
  const method = new TotpMethod({ enrollments, state, backupCodes, clock, settings, ...(clients ? { clients } : {}) });
  const admin = new TotpAdmin({ enrollments, state, backupCodes, clock, settings, knownUsers: async () => [] });
  return { method, state, backupCodes, admin };
}

/** Sets up TOTP for `user` with a code oathtool makes at `now`; returns the secret and the backup codes. */
export async function enrollWithOathtool(method: TotpMethod, user: User, now: number, oath: OathOptions = {}): Promise<{ secret: string; backupCodes: string[] }> {
  const view = await method.enrollment.begin({ user, sessionId: ENROLLING_SESSION });
  const enrolled = await method.enrollment.finish({ user, sessionId: ENROLLING_SESSION, ip: '192.0.2.1' }, oathtoolTotp(view.secret, now, oath));
  assert.ok(enrolled.ok, 'enrollment confirms');
  return { secret: view.secret, backupCodes: enrolled.backupCodes };
}

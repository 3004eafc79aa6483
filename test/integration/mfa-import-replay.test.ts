import { cliInProcess } from '../helpers/cli.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/load.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { buildMfa } from '../../src/mfa/build-mfa.ts';
import { localUsers } from '../../src/directory/local-users.ts';
import { TotpEnrollments, type TotpEnrollment } from '../../src/mfa/totp/totp-enrollments.ts';
import { exportTotp } from '../../src/mfa/totp/totp-transfer.ts';
import type { User } from '../../src/core/types.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { TOTP_TEST_SETTINGS, enrollWithOathtool, openTotpStore, totpParts, type TotpStore } from '../helpers/totp-store.ts';

/**
 * The replay marker (the last accepted time step) counts steps of the registration that wrote it. An
 * `mfa import --replace` of a registration with a longer period left it in place, and every code of
 * the restored app was "already used" for years. A registration imported with the same secret and
 * period makes the same codes: there the marker must stay.
 */

const EXPORT_PASSWORD = 'export password 42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
let dir: string;
let store: LowdbStore;
let otherInstallation: TotpStore;
const box = new SecretBox(randomBytes(32));
/** This installation: codes of 15-second steps; the other one (the export's) uses 30. */
const config = () => parseConfig({ dataDir: dir, mfa: { totp: { periodSeconds: 15 } } });
const mfa = () => buildMfa(config(), store, box, clock);

const cli = (...words: string[]) => cliInProcess({ config, store: async () => store, box: () => box, clock }, words);

async function localUser(username: string): Promise<User> {
  assert.equal((await cli('user', 'add', username)).code, 0);
  const record = (await localUsers(store).list()).find((candidate) => candidate.username === username)!;
  return { id: record.id, username, groups: [], attributes: {} };
}

async function passwordFile(): Promise<string> {
  const path = join(dir, 'export.pw');
  await writeFile(path, EXPORT_PASSWORD, { mode: 0o600 });
  return path;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-import-replay-'));
  store = await new LowdbStore(dir, clock, { sealer: journalSealer(box) }).open();
  otherInstallation = await openTotpStore('stepgate-import-replay-other-', clock);
});
after(async () => {
  await store.close();
  await otherInstallation.remove();
  await rm(dir, { recursive: true, force: true });
});

test('a registration restored with mfa import --replace takes its codes at once, though the one it replaced counted shorter time steps', async () => {
  const ivy = await localUser('ivy');
  // The export: ivy's registration on an installation with 30-second codes.
  const { secret: restoredSecret } = await enrollWithOathtool(totpParts(otherInstallation, clock, { ...TOTP_TEST_SETTINGS, periodSeconds: 30 }).method, ivy, now, { periodSeconds: 30 });
  const exported = join(dir, 'ivy.export');
  await writeFile(exported, (await exportTotp(new TotpEnrollments(otherInstallation.store.collection<TotpEnrollment>('mfa-enrollments'), otherInstallation.store.kv, otherInstallation.box), EXPORT_PASSWORD)).text, { mode: 0o600 });

  // Here ivy set up another app (15-second codes) and signed in with it.
  now += 60_000;
  const { totp } = mfa();
  const { secret: replacedSecret } = await enrollWithOathtool(totp, ivy, now, { periodSeconds: 15 });
  now += 30_000;
  assert.deepEqual(await totp.verify({ user: ivy, ip: '192.0.2.1' }, oathtoolTotp(replacedSecret, now, { periodSeconds: 15 })), { ok: true, amr: 'otp' });

  const imported = await cli('mfa', 'import', '--in', exported, '--password-file', await passwordFile(), '--replace');
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /Imported 1 TOTP registration\./);
  assert.deepEqual(await totp.verify({ user: ivy, ip: '192.0.2.1' }, oathtoolTotp(restoredSecret, now, { periodSeconds: 30 })), { ok: true, amr: 'otp' }, 'the restored app, at once');
  now += 30_000;
  assert.deepEqual(await totp.verify({ user: ivy, ip: '192.0.2.1' }, oathtoolTotp(restoredSecret, now, { periodSeconds: 30 })), { ok: true, amr: 'otp' }, 'and its next code');
});

test('a registration imported again with the same secret and period keeps the replay marker: a code already used stays used', async () => {
  const kai = await localUser('kai');
  const { totp } = mfa();
  const { secret } = await enrollWithOathtool(totp, kai, now, { periodSeconds: 15 });
  now += 30_000;
  const used = oathtoolTotp(secret, now, { periodSeconds: 15 });
  assert.deepEqual(await totp.verify({ user: kai, ip: '192.0.2.1' }, used), { ok: true, amr: 'otp' });

  const exported = join(dir, 'all.export');
  const pw = await passwordFile();
  assert.equal((await cli('mfa', 'export', '--out', exported, '--password-file', pw)).code, 0);
  const imported = await cli('mfa', 'import', '--in', exported, '--password-file', pw, '--replace');
  assert.equal(imported.code, 0, imported.err);
  assert.deepEqual(await totp.verify({ user: kai, ip: '192.0.2.1' }, used), { ok: false, reason: 'replayed' });
  now += 15_000;
  assert.deepEqual(await totp.verify({ user: kai, ip: '192.0.2.1' }, oathtoolTotp(secret, now, { periodSeconds: 15 })), { ok: true, amr: 'otp' }, 'the next code works');
});

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
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { enrollWithOathtool } from '../helpers/totp-store.ts';

/**
 * Times the admin CLI shows: a lock's end never earlier than the real one, and said to be UTC; an
 * account past its expiry listed as expired; a past expiry date said; ISO dates, not epoch ms.
 */

let now = Date.parse('2026-11-23T18:37:45Z');
const clock = { now: () => now };
let dir: string;
let store: LowdbStore;
const box = new SecretBox(randomBytes(32));
const config = () => parseConfig({ dataDir: dir, mfa: { totp: { maxFailures: 2, autoUnlockMinutes: 15 } } });

const cli = (...words: string[]) => cliInProcess({ config, store: async () => store, box: () => box, clock }, words);

const record = async (username: string) => (await localUsers(store).list()).find((candidate) => candidate.username === username)!;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-cli-times-'));
  store = await new LowdbStore(dir, clock, { sealer: journalSealer(box) }).open();
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('mfa list and user unlock show the end of a code lock rounded up to the minute, in UTC', async () => {
  assert.equal((await cli('user', 'add', 'lena')).code, 0);
  const { id } = await record('lena');
  const user = { id, username: 'lena', groups: [], attributes: {} };
  const { totp } = buildMfa(config(), store, box, clock);
  const { secret } = await enrollWithOathtool(totp, user, now);
  now += 60_000;
  const wrong = oathtoolTotp(secret, now) === '000000' ? '111111' : '000000';
  await totp.verify({ user, ip: '198.51.100.7' }, wrong);
  const locked = await totp.verify({ user, ip: '198.51.100.7' }, wrong);
  assert.deepEqual(locked, { ok: false, reason: 'locked', lockedUntil: Date.parse('2026-11-23T18:53:45Z'), lockStarted: true, lockCount: 1 });

  const listed = await cli('mfa', 'list');
  assert.match(listed.out, /^USER +STATUS +REGISTERED \(UTC\) +LAST ATTEMPT \(UTC\) +LAST SUCCESS \(UTC\) +BACKUP +USER ID$/m);
  assert.match(listed.out, /^lena +Locked \(until 2026-11-23 18:54 UTC\) +2026-11-23 18:37 +2026-11-23 18:38 198\.51\.100\.7 failed /m);
  const unlocked = await cli('user', 'unlock', 'lena');
  assert.match(unlocked.out, /lena's sign-in codes are also locked until 2026-11-23 18:54 UTC;/);
});

test('user list shows an account past its expiry date as expired; user add and update warn of a past date and still set it', async () => {
  const past = await cli('user', 'add', 'olga', '--expires', '2026-03-29');
  assert.equal(past.code, 0);
  assert.equal(past.err, 'Warning: the expiry date 2026-03-29 is already past, so olga cannot sign in. To let them, give a later date or --expires never.');
  assert.equal((await record('olga')).expiresAt, Date.parse('2026-03-29T23:59:59Z'));
  const future = await cli('user', 'add', 'paul', '--expires', '2026-11-23');
  assert.deepEqual([future.code, future.err], [0, ''], 'today is not past: the account signs in until its end');
  assert.equal((await cli('user', 'disable', 'lena')).code, 0);

  const list = async () => (await cli('user', 'list')).out;
  assert.match(await list(), /^olga +expired +\[\]$/m);
  assert.match(await list(), /^paul +active +\[\]$/m);
  assert.match(await list(), /^lena +disabled +\[\]$/m);
  now = Date.parse('2026-11-24T00:00:00Z');
  assert.match(await list(), /^paul +expired +\[\]$/m, 'past the end of its day (UTC)');

  const updated = await cli('user', 'update', 'paul', '--expires', '2026-11-23');
  assert.deepEqual([updated.code, updated.err], [0, 'Warning: the expiry date 2026-11-23 is already past, so paul cannot sign in. To let them, give a later date or --expires never.']);
  assert.equal((await cli('user', 'update', 'paul', '--name', 'Paul')).err, '', 'only a date given now is warned about');
  assert.deepEqual([(await cli('user', 'update', 'olga', '--expires', 'never')).err, (await cli('user', 'update', 'paul', '--expires', '2027-01-31')).err], ['', '']);
  assert.match(await list(), /^olga +active +\[\]$/m);
  assert.match(await list(), /^paul +active +\[\]$/m);
});

test('user show gives its times in ISO 8601 UTC', async () => {
  const show = async (username: string) => JSON.parse((await cli('user', 'show', username)).out) as Record<string, unknown>;
  const paul = await show('paul');
  assert.equal(paul.expiresAt, '2027-01-31T23:59:59.000Z');
  assert.equal(paul.createdAt, '2026-11-23T18:38:45.000Z');
  assert.equal('passwordChangedAt' in paul, false, 'no password set');
  assert.equal(paul.hasPassword, false);

  const passwordFile = join(dir, 'olga.pw');
  await writeFile(passwordFile, 'a-long-Passw0rd!x', { mode: 0o600 });
  now += 1_500;
  assert.equal((await cli('user', 'set-password', 'olga', '--password-file', passwordFile)).code, 0);
  const olga = await show('olga');
  assert.equal(olga.passwordChangedAt, '2026-11-24T00:00:01.500Z');
  assert.equal(olga.hasPassword, true);
  assert.equal('passwordHash' in olga || 'previousPasswordHashes' in olga, false, 'no hashes');
});

test('user list --json gives each user as user show does: times in ISO 8601 UTC, no password hashes', async () => {
  const listed = JSON.parse((await cli('user', 'list', '--json')).out) as Array<Record<string, unknown>>;
  for (const username of ['olga', 'paul']) {
    const shown = JSON.parse((await cli('user', 'show', username)).out) as Record<string, unknown>;
    assert.deepEqual(listed.find((user) => user.username === username), shown, username);
  }
  assert.equal(listed.find((user) => user.username === 'olga')!.passwordChangedAt, '2026-11-24T00:00:01.500Z');
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';

/**
 * The helpdesk lifts carol's password lock while her codes are locked too: `user unlock` must say
 * so, and the audit must tell an unlock that lifted a lock from one that found none.
 */

const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
let app: Booted;

async function cli(...words: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const { services } = app;
  const code = await runCli(COMMANDS, words, { config: () => services.config, store: async () => services.store, box: () => services.box, clock, out: (line) => out.push(line), err: (line) => out.push(line) });
  return { code, out };
}

async function lastAudit(type: string): Promise<Record<string, unknown> | undefined> {
  return (await app.services.store.audit.query({ types: [type] })).events.at(-1) as Record<string, unknown> | undefined;
}

before(async () => {
  app = await boot({ mfa: { totp: { maxFailures: 2 } }, regulation: { maxFailuresPerUser: 2 } }, { clock });
});
after(async () => {
  await app?.close();
});

test('user unlock names a lock of the sign-in codes it does not lift; both unlocks audit wasLocked', async () => {
  await createUser(app, { username: 'carol', password: PASSWORD });
  const user = (await app.services.directory.findUser('carol'))!;
  const { totp } = app.services.mfa;
  const view = await totp.enrollment!.begin({ user, sessionId: 'carol-browser' });
  assert.ok((await totp.enrollment!.finish({ user, sessionId: 'carol-browser', ip: '192.0.2.1' }, oathtoolTotp(view.secret, now))).ok);
  now += 5 * 60_000;
  const wrong = oathtoolTotp(view.secret, now) === '000000' ? '111111' : '000000';
  await totp.verify({ user, ip: '198.51.100.5' }, wrong);
  const locked = await totp.verify({ user, ip: '198.51.100.5' }, wrong);
  assert.ok(!locked.ok && locked.lockStarted);
  for (let i = 0; i < 2; i++) {
    const admission = await app.services.regulator.admit({ login: 'carol' }, '198.51.100.5');
    assert.ok(admission.allowed);
    await admission.attempt.failed(user.id);
  }

  const unlocked = await cli('user', 'unlock', 'carol');
  const until = new Date(Math.ceil(locked.lockedUntil! / 60_000) * 60_000).toISOString().slice(0, 16).replace('T', ' ');
  assert.deepEqual(unlocked, {
    code: 0,
    out: ['Unlocked carol.', `carol's sign-in codes are also locked until ${until} UTC; run \`npm run cli -- mfa unlock carol\` to lift that lock too.`],
  });
  assert.equal((await lastAudit('password.unlock'))?.['wasLocked'], true);

  assert.deepEqual((await cli('mfa', 'unlock', 'carol')).out, ['Unlocked carol.']);
  assert.equal((await lastAudit('mfa.unlock'))?.['wasLocked'], true);

  assert.deepEqual(await cli('user', 'unlock', 'carol'), { code: 0, out: ['carol was not locked; the count of wrong passwords is cleared.'] });
  assert.equal((await lastAudit('password.unlock'))?.['wasLocked'], false);
  assert.deepEqual((await cli('mfa', 'unlock', 'carol')).out, ['carol was not locked; the count of wrong codes is cleared.']);
  assert.equal((await lastAudit('mfa.unlock'))?.['wasLocked'], false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { boot } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const SECRET_KEY = randomBytes(32).toString('base64');

/**
 * The CLI is another process: the server reads its journal lines every half second. A setup confirmed
 * in that half second after `mfa reset` returned was activated, and outlived the reset for good.
 */
test('a setup shown before mfa reset cannot be confirmed the moment the command returns, before the server would have read its lines', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  try {
    // Several users: each confirmation must beat the server's next read of the journal, which a slow host may not.
    for (const username of ['rhea', 'rory', 'ruth']) {
      const user = (await app.services.directory.findUserById(await createUser(app, { username, password: 'correct horse 42' })))!;
      const { totp } = app.services.mfa;
      const view = await totp.enrollment.begin({ user, sessionId: `setup-${username}` });
      const reset = await cliProcess(app, SECRET_KEY, ['mfa', 'reset', username]);
      assert.equal(reset.code, 0, reset.err);
      const late = await totp.enrollment.finish({ user, sessionId: `setup-${username}`, ip: '127.0.0.1' }, oathtoolTotp(view.secret, Date.now()));
      assert.equal(late.ok ? 'activated' : late.reason, 'expired', `${username}: the reset voids the setup shown before it`);
      assert.equal(await totp.isEnrolled(user), false, `${username}: no registration outlives the reset`);
      assert.equal(await app.services.mfa.backupCodes.remaining(user.id), 0, `${username}: nor backup codes`);
    }
  } finally {
    await app.close();
  }
});

test('an mfa reset that removes the registration between the setup taking its secret and storing it: the stored registration goes too', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  try {
    const user = (await app.services.directory.findUserById(await createUser(app, { username: 'rosa', password: 'correct horse 42' })))!;
    const { totp, enrollments } = app.services.mfa;
    const view = await totp.enrollment.begin({ user, sessionId: 'setup-rosa' });
    // The command runs while the confirmation is between its check of the reset mark and its write.
    const put = enrollments.put.bind(enrollments);
    enrollments.put = async (...args) => {
      const reset = await cliProcess(app, SECRET_KEY, ['mfa', 'reset', 'rosa']);
      assert.equal(reset.code, 0, reset.err);
      return put(...args);
    };
    const late = await totp.enrollment.finish({ user, sessionId: 'setup-rosa', ip: '127.0.0.1' }, oathtoolTotp(view.secret, Date.now()));
    assert.equal(late.ok ? 'activated' : late.reason, 'expired');
    assert.equal(await totp.isEnrolled(user), false, 'the registration stored after the removal does not outlive the reset');
  } finally {
    await app.close();
  }
});

/**
 * The reset's removal can come after the server checked the setup and before it stored the
 * registration: nothing is removed then, and the registration stored next would outlive the reset.
 * The reset is run here at that exact point, in process, by pausing the server's check of the mark.
 */
test('a reset that runs between the check of the setup and the storing of its registration still wins', async () => {
  const app = await boot();
  try {
    const user = (await app.services.directory.findUserById(await createUser(app, { username: 'rosa', password: 'correct horse 42' })))!;
    const { totp, totpAdmin } = app.services.mfa;
    const view = await totp.enrollment.begin({ user, sessionId: 'setup-rosa' });
    const kv = app.services.store.kv;
    const { consume, get } = kv;
    let taken = false;
    kv.consume = async <T>(namespace: string, key: string) => {
      const value = await consume.call(kv, namespace, key);
      taken ||= key === 'setup-rosa' && value !== undefined;
      return value as T | undefined;
    };
    kv.get = async <T>(namespace: string, key: string) => {
      const value = await get.call(kv, namespace, key);
      if (taken && namespace === 'mfa-totp-reset') {
        taken = false;
        assert.equal(await totpAdmin.reset(user.id), false, 'nothing to remove yet');
      }
      return value as T | undefined;
    };
    const late = await totp.enrollment.finish({ user, sessionId: 'setup-rosa', ip: '127.0.0.1' }, oathtoolTotp(view.secret, Date.now()));
    assert.equal(late.ok ? 'activated' : late.reason, 'expired');
    assert.equal(await totp.isEnrolled(user), false, 'no registration outlives the reset');
  } finally {
    await app.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { boot } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
const SETTINGS = { trustedNetworks: { office: ['10.1.0.0/16'] }, mfa: { enrollment: { networks: ['office'] } } };

test('mfa reset says where the user can set up the new app when mfa.enrollment.networks is set, and says nothing of it otherwise', async () => {
  const app = await boot(SETTINGS, { secretKey: SECRET_KEY });
  try {
    for (const username of ['remy', 'rosa']) {
      const user = (await app.services.directory.findUserById(await createUser(app, { username, password: 'correct horse 42' })))!;
      const view = await app.services.mfa.totp.enrollment.begin({ user, sessionId: `setup-${username}` });
      assert.ok((await app.services.mfa.totp.enrollment.finish({ user, sessionId: `setup-${username}`, ip: '10.1.2.3' }, oathtoolTotp(view.secret, Date.now()))).ok);
    }
    const gated = await cliProcess(app, SECRET_KEY, ['mfa', 'reset', 'remy'], SETTINGS);
    assert.equal(gated.code, 0);
    assert.match(gated.out, /remy can set up a new authenticator app only from mfa\.enrollment\.networks \(office\)\./);
    const open = await cliProcess(app, SECRET_KEY, ['mfa', 'reset', 'rosa']);
    assert.equal(open.code, 0);
    assert.doesNotMatch(open.out, /mfa\.enrollment\.networks/);
    assert.match((await cliProcess(app, SECRET_KEY, ['mfa', 'reset', '--help'])).out, /with mfa\.enrollment\.networks set, only from those networks/);
  } finally {
    await app.close();
  }
});

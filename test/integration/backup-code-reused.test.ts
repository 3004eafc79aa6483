import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { toCodePage } from '../helpers/mfa-app-sign-in.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { pastBackupCodeNotice } from '../helpers/backup-code-notice.ts';

const PASSWORD = 'correct horse 42';
let app: Booted;

before(async () => {
  app = await boot();
});
after(() => app?.close());

test('a backup code used before is answered "already used", not "not correct", on the code page', async () => {
  const user = (await app.services.directory.findUserById(await createUser(app, { username: 'rosa', password: PASSWORD })))!;
  const { totp } = app.services.mfa;
  const view = await totp.enrollment.begin({ user, sessionId: 'set-up-elsewhere' });
  const enrolled = await totp.enrollment.finish({ user, sessionId: 'set-up-elsewhere', ip: '127.0.0.1' }, oathtoolTotp(view.secret, Date.now()));
  assert.ok(enrolled.ok);
  const [backupCode] = enrolled.backupCodes as [string];

  const first = await toCodePage(app, { username: 'rosa', password: PASSWORD });
  await pastBackupCodeNotice(first.browser, await first.browser.submit(first.page, { code: backupCode }));
  assert.equal(app.finished.get(first.txId)?.ok, true, 'the backup code signs in once');

  const second = await toCodePage(app, { username: 'rosa', password: PASSWORD });
  const again = await second.browser.submit(second.page, { code: backupCode });
  assert.equal(again.status, 401);
  assert.match(again.body, /That backup code was already used\./);
  assert.doesNotMatch(again.body, /not correct/);
  assert.equal((await totp.startChallenge({ user, ip: '127.0.0.1' })).lockedUntil, undefined);
});

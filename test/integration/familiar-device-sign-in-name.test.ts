import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { passwordSignInFrom } from '../helpers/login-request.ts';
import { personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';

/**
 * The familiar-device cookie is sealed for the name typed (its login bucket), since that is what a
 * later guess comes with. With users.filter on mail and the username the uid, the name typed
 * (jane@example.org) and the username (jane.smith) are two buckets: a cookie sealed for the username
 * would never open when she types her mail, and strangers' lock on her mail would refuse her own browser.
 */
const PASSWORD = 'Passw0rd!jane';
const MAIL = 'jane@example.org';
let slapd: SlapdHandle;
let app: Booted;

before(async () => {
  slapd = await startSlapd({ ldif: [personLdif({ uid: 'jane.smith', cn: 'Jane Smith', sn: 'Smith', mail: MAIL, password: PASSWORD })], monitor: false, ppolicy: false });
  app = await boot(
    {
      server: { trustedProxies: ['127.0.0.1/32'] },
      directory: slapdDirectoryInput(slapd, { filter: '(&(objectClass=inetOrgPerson)(mail=<username>))', usernameAttribute: 'uid', stripUpnSuffix: false }),
      regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 900 },
    } as never,
  );
});
after(async () => {
  await app?.close();
  await slapd?.stop();
});

test('a browser that signed in by mail stays familiar under that name: strangers locking the mail do not lock it out', async () => {
  const own = new TestBrowser();
  const first = await passwordSignInFrom(app, own, MAIL, PASSWORD, '10.1.1.1');
  assert.match(first.url, /\/resume\?tx=/, 'signed in by mail');

  for (let i = 0; i < 3; i++) assert.equal((await passwordSignInFrom(app, new TestBrowser(), MAIL, `wrong-${i}`, '203.0.113.66')).status, 401, `stranger's guess ${i + 1}`);
  assert.equal((await passwordSignInFrom(app, new TestBrowser(), MAIL, PASSWORD, '10.9.9.9')).status, 429, 'the mail is locked for strangers');

  const again = await passwordSignInFrom(app, own, MAIL, PASSWORD, '10.1.1.1');
  assert.match(again.url, /\/resume\?tx=/, `her own browser is not refused by the strangers' lock (got ${again.status})`);
});

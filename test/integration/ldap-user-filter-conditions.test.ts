import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { startSignIn } from '../helpers/login-request.ts';
import { PEOPLE, personLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapChange, ppolicyMarks } from '../helpers/ldap-admin.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { Attribute, Change } from 'ldapts';

// Administrators write their sign-in restrictions into users.filter (an object class, an "enabled"
// attribute, membership of an SSO group). The alternate login attributes were searched without them,
// so a user the filter leaves out signed in with their mail; and the account was found again by its
// id alone, so a user the filter stopped admitting kept the SSO session and tokens of an earlier sign-in.
const FILTER = '(&(objectClass=inetOrgPerson)(!(description=no-sso))(uid=<username>))';
const ids = { kept: '00000000-0000-4000-8000-00000000c001', left: '00000000-0000-4000-8000-00000000c002' };
const pw = (uid: string): string => `Passw0rd!${uid}`;

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({
    monitor: false,
    ldif: [
      personLdif({ uid: 'kept', cn: 'Kept', sn: 'K', password: pw('kept'), mail: 'kept@example.org', entryUUID: ids.kept }),
      `${personLdif({ uid: 'left', cn: 'Left', sn: 'L', password: pw('left'), mail: 'left@example.org', entryUUID: ids.left })}description: no-sso\n`,
    ],
  });
});

after(async () => {
  await slapd?.stop();
});

const config = () => ldapDirectorySchema.parse(slapdDirectoryInput(slapd, { filter: FILTER, alternateLoginAttributes: ['mail'] }));

test('a user users.filter leaves out does not sign in by an alternate login attribute, and no password is sent', async () => {
  await withDirectory(config(), async (directory) => {
    for (const login of ['left', 'left@example.org', 'LEFT@EXAMPLE.ORG']) {
      assert.deepEqual(await directory.authenticate(login, pw('left')), { ok: false, reason: 'invalid-credentials' }, login);
    }
    const kept = await directory.authenticate('kept@example.org', pw('kept'));
    assert.equal(kept.ok && kept.user.id, ids.kept, 'an admitted user still signs in by mail');
  });
  assert.deepEqual(await ppolicyMarks(slapd, `uid=left,${PEOPLE}`), { failures: 0, locked: false }, 'the bind went to no entry of a real user');
});

test('a user users.filter stops admitting is no longer found by id, as SSO reuse, refresh and userinfo ask', async () => {
  const app: Booted = await boot({ directory: slapdDirectoryInput(slapd, { filter: FILTER }) });
  try {
    assert.equal((await app.services.directory.findUserById(ids.kept))?.username, 'kept');
    assert.equal(await app.services.directory.findUserById(ids.left), null);

    const browser = new TestBrowser();
    const first = await startSignIn(app, browser);
    await browser.submit(first.page, { username: 'kept', password: pw('kept') });
    const result = app.finished.get(first.txId);
    assert.equal(result?.ok && result.user.id, ids.kept, 'kept signs in');

    await ldapChange(slapd, `uid=kept,${PEOPLE}`, new Change({ operation: 'add', modification: new Attribute({ type: 'description', values: ['no-sso'] }) }));
    assert.equal(await app.services.directory.findUserById(ids.kept), null);
  } finally {
    await app.close();
    await ldapChange(slapd, `uid=kept,${PEOPLE}`, new Change({ operation: 'delete', modification: new Attribute({ type: 'description', values: ['no-sso'] }) }));
  }
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { PEOPLE, capture, personLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';

// Sign-in by email with the default stripUpnSuffix: the local part of Jane's address is John's uid.
// A login that names two people must not send the password to either of them.
const JOHN = `uid=jsmith,${PEOPLE}`;
const JANE = `uid=jane.smith,${PEOPLE}`;
const JANE_MAIL = 'jsmith@example.org';
const pw = (uid: string): string => `Passw0rd!${uid}`;
const person = (uid: string, cn: string, mail: string): string => personLdif({ uid, cn, sn: 'Smith', mail, password: pw(uid) });

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({ ldif: [person('jsmith', 'John Smith', 'john.smith@example.org'), person('jane.smith', 'Jane Smith', JANE_MAIL)], monitor: false });
});

after(async () => {
  await slapd?.stop();
});

const config = (): LdapDirectoryConfig =>
  ldapDirectorySchema.parse(slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'] }));

/** What slapd's ppolicy recorded against an entry: failed binds and a lock. */
async function ppolicyMarks(dn: string): Promise<Record<string, unknown>> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['pwdFailureTime', 'pwdAccountLockedTime'] });
    const { dn: _dn, ...marks } = searchEntries[0]!;
    return Object.fromEntries(Object.entries(marks).filter(([, values]) => [values].flat().length > 0));
  } finally {
    await client.unbind();
  }
}

test("Jane's email reduced to John's uid: refused as ambiguous, the password reaches neither entry, no account is counted", async () => {
  const { logger, lines } = capture();
  await withDirectory(
    config(),
    async (directory) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        assert.deepEqual(await directory.authenticate(JANE_MAIL, pw('jane.smith')), { ok: false, reason: 'invalid-credentials' }, 'no accountId: the failure counts on neither account');
      }
      const john = await directory.authenticate('jsmith', pw('jsmith'));
      assert.equal(john.ok && john.user.username, 'jsmith', 'John is not locked out by the directory');
    },
    logger,
  );
  assert.deepEqual(await ppolicyMarks(JOHN), {}, "no failed bind on John's entry");
  assert.deepEqual(await ppolicyMarks(JANE), {}, "no failed bind on Jane's entry");
  const ambiguous = lines.find((line) => line['event'] === 'ldap.user.ambiguous');
  assert.deepEqual(ambiguous?.['dns'], [JOHN, JANE], 'the log names both entries, for the administrator');
  assert.ok(!JSON.stringify(lines).includes(pw('jane.smith')), 'passwords are never logged');
});

test('logins that name one entry still work: plain uid, DOMAIN\\uid, a suffix nobody has as mail, a mail that reduces to the same entry', async () => {
  await withDirectory(config(), async (directory) => {
    const cases: Array<[string, string]> = [
      ['jsmith', 'jsmith'],
      ['EXAMPLE\\jsmith', 'jsmith'],
      ['jsmith@corp.example', 'jsmith'],
      ['john.smith@example.org', 'jsmith'],
      ['jane.smith', 'jane.smith'],
      ['jane.smith@example.org', 'jane.smith'],
    ];
    for (const [login, uid] of cases) {
      const outcome = await directory.authenticate(login, pw(uid));
      assert.equal(outcome.ok && outcome.user.username, uid, login);
    }
  });
});

test('findUser and directory test refuse the ambiguous login too, naming both entries', async () => {
  assert.equal(await withDirectory(config(), (directory) => directory.findUser(JANE_MAIL)), null);
  const lookup = (await diagnoseLdap(config(), { user: JANE_MAIL })).find((step) => step.step === 'user-lookup');
  assert.equal(lookup?.ok, false);
  assert.match(String(lookup?.detail), new RegExp(`${JOHN}.*${JANE}`));
});

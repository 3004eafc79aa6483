import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { PEOPLE, capture, personLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { findUserEntry, normaliseLogin } from '../../src/directory/ldap-filter.ts';

/**
 * users.stripUpnSuffix: false keeps `@suffix` in the login (README: Jane signs in "with
 * `stripUpnSuffix: false`, by her mail"). Jane's mail `jsmith@example.org` is then looked up as typed:
 * it finds Jane alone, never John's uid `jsmith`, so there is nothing ambiguous to refuse. A UPN-style
 * login that is nobody's mail finds nobody.
 */
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

const keepSuffix = (): LdapDirectoryConfig => ldapDirectorySchema.parse(slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'], stripUpnSuffix: false }));

async function failedBinds(dn: string): Promise<unknown[]> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['pwdFailureTime'] });
    return [searchEntries[0]?.['pwdFailureTime'] ?? []].flat();
  } finally {
    await client.unbind();
  }
}

test('normaliseLogin keeps the @suffix when stripUpnSuffix is false (and still strips DOMAIN\\ when asked)', () => {
  const keep = { stripDomainPrefix: true, stripUpnSuffix: false };
  assert.equal(normaliseLogin('alice@corp.example', keep), 'alice@corp.example');
  assert.equal(normaliseLogin('EXAMPLE\\alice@corp.example', keep), 'alice@corp.example');
  assert.equal(normaliseLogin('alice@corp.example', { stripDomainPrefix: true, stripUpnSuffix: true }), 'alice', 'the default strips it');
});

test("the user filter is searched with the login as typed: Jane's mail never becomes a search for John's uid", async () => {
  const config = keepSuffix();
  const filters: string[] = [];
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.serviceDn, slapd.servicePassword);
    const found = await findUserEntry(
      (baseDn, options) => {
        filters.push(String(options.filter));
        return client.search(baseDn, options);
      },
      config.users,
      JANE_MAIL,
      ['uid'],
    );
    assert.equal(found.entry?.dn, JANE);
  } finally {
    await client.unbind();
  }
  assert.ok(filters.some((filter) => /\(uid=jsmith@example\.org\)/i.test(filter)), `searched: ${filters.join(' ')}`);
  assert.ok(!filters.some((filter) => /\(uid=jsmith\)/i.test(filter)), `searched: ${filters.join(' ')}`);
});

test("Jane signs in by her mail: her entry alone, no ambiguity refused, John's entry untouched", async () => {
  const { logger, lines } = capture();
  await withDirectory(
    keepSuffix(),
    async (directory) => {
      const jane = await directory.authenticate(JANE_MAIL, pw('jane.smith'));
      assert.equal(jane.ok && jane.user.username, 'jane.smith');
      const wrong = await directory.authenticate(JANE_MAIL, pw('jsmith'));
      assert.equal(wrong.ok, false, "John's password is not Jane's");
    },
    logger,
  );
  assert.equal(lines.find((line) => line['event'] === 'ldap.user.ambiguous'), undefined);
  assert.deepEqual(await failedBinds(JOHN), [], "no bind on John's entry");
});

test("a UPN-style login that is nobody's mail is not reduced to a uid: it finds nobody", async () => {
  await withDirectory(keepSuffix(), async (directory) => {
    assert.deepEqual(await directory.authenticate('jsmith@corp.example', pw('jsmith')), { ok: false, reason: 'invalid-credentials' });
    assert.equal(await directory.findUser('jsmith@corp.example'), null);
    const john = await directory.authenticate('jsmith', pw('jsmith'));
    assert.equal(john.ok && john.user.username, 'jsmith', 'the plain uid still signs in');
  });
});

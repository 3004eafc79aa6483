import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LdapFaultRelay } from '../helpers/ldap-fault-relay.ts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { capture, fixtureLdif } from '../helpers/ldap-directory.ts';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';

/**
 * Active Directory mode reads the domain's maxPwdAge (on the domain root) after a user's successful
 * bind, for accounts without msDS-UserPasswordExpiryTimeComputed. A failed read must not switch that
 * fallback off until a restart, silently: it is logged, and read again later. Against a real slapd
 * (which has no maxPwdAge, so a successful read finds none) behind a relay that can make the
 * server fail exactly that read.
 */

const DOMAIN_ROOT = 'dc=example,dc=org';
/** After a failed read, sign-ins go without maxPwdAge this long before it is read again (ldap-directory.ts). */
const MAX_PWD_AGE_RETRY_MS = 60_000;
/** LDAP resultCode `other`: a server error that no retry on another connection would cure. */
const OTHER = 80;
const failRootReads = () => (relay.mode = { kind: 'fail-base-reads', base: DOMAIN_ROOT, resultCode: OTHER });
const rootReads = () => relay.baseReads.get(DOMAIN_ROOT) ?? 0;

let slapd: SlapdHandle;
let relay: LdapFaultRelay;

before(async () => {
  slapd = await startSlapd({ ldif: await fixtureLdif() });
  relay = await LdapFaultRelay.to(slapd.port, slapd.serviceDn);
});

after(async () => {
  await relay?.close();
  await slapd?.stop();
});

test("AD mode: a failed read of the domain's maxPwdAge is logged and read again after a while, not given up until a restart; a successful one is kept", async () => {
  const config = ldapDirectorySchema.parse({
    kind: 'ldap',
    urls: [relay.url],
    bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
    users: { baseDn: `ou=people,${DOMAIN_ROOT}` },
    accountState: { flavour: 'active-directory' },
  });
  let now = 1_700_000_000_000;
  const { logger, lines } = capture();
  const directory = new LdapDirectory(config, { logger, now: () => now });
  const warnings = () => lines.filter((line) => line['event'] === 'ldap.maxPwdAge.unavailable');
  const signIn = async () => assert.equal((await directory.authenticate('alice', 'Passw0rd!alice')).ok, true, 'the sign-in itself goes on');
  try {
    failRootReads();
    await signIn();
    assert.equal(rootReads(), 1);
    assert.equal(warnings().length, 1, 'the failure is logged');
    assert.equal(warnings()[0]!['level'], 40, 'at warn');
    assert.equal(warnings()[0]!['dn'], DOMAIN_ROOT);
    assert.match(String(warnings()[0]!['error']), /LDAP 80/);

    now += MAX_PWD_AGE_RETRY_MS - 1;
    await signIn();
    assert.equal(rootReads(), 1, 'not read again at every sign-in while the directory fails it');
    assert.equal(warnings().length, 1);

    now += 1;
    await signIn();
    assert.equal(rootReads(), 2, 'read again once the retry time has passed');
    assert.equal(warnings().length, 2, 'each failed read is logged once');

    relay.mode = { kind: 'pass' };
    now += MAX_PWD_AGE_RETRY_MS;
    await signIn();
    assert.equal(rootReads(), 3, 'the read that works');
    assert.equal(warnings().length, 2);

    now += 24 * 3_600_000;
    await signIn();
    await signIn();
    assert.equal(rootReads(), 3, 'a successful read is kept');
  } finally {
    await directory.close();
  }
});

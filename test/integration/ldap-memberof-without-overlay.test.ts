import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { capture, fixtureLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';

// `groups.mode: "memberOf"` on an OpenLDAP without the memberOf overlay: slapd answers AD's in-chain
// search with nothing, and no entry has memberOf values. The fallback to member searches was taken
// only for entries with memberOf values, so every user was silently in no group (a rule denying a
// group admitted everyone) and `directory test --user` said "ok … member of no group".
const GROUPS = 'ou=groups,dc=example,dc=org';
const pw = (uid: string): string => `Passw0rd!${uid}`;

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({ ldif: await fixtureLdif(), monitor: false });
});

after(async () => {
  await slapd?.stop();
});

function memberOfConfig(): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({
    ...slapdDirectoryInput(slapd),
    groups: { mode: 'memberOf', baseDn: GROUPS, filter: '(objectClass=groupOfNames)', nestedDepth: 2, nestedCacheSeconds: 0 },
    accountState: { flavour: 'none' },
  });
}

test('sign-ins get the groups that list the user by member, and the mode is warned of once', async () => {
  const { logger, lines } = capture();
  await withDirectory(
    memberOfConfig(),
    async (directory) => {
      for (let i = 0; i < 2; i++) {
        const outcome = await directory.authenticate('alice', pw('alice'));
        assert.ok(outcome.ok, JSON.stringify(outcome));
        assert.deepEqual(outcome.user.groups, ['engineers', 'staff', 'all-staff']);
      }
      const dave = await directory.authenticate('dave', pw('dave'));
      assert.ok(dave.ok && dave.user.groups.length === 0, 'a user in no group is in no group');
    },
    logger,
  );
  const warned = lines.filter((line) => line['event'] === 'ldap.groups.in-chain-unsupported');
  assert.equal(warned.length, 1);
  assert.match(String(warned[0]!['msg']), /found no group, although groups list the entry in groups\.memberAttribute .*memberOf overlay.*set groups\.mode "member"/);
});

test('directory test warns at groups, with the groups found', async () => {
  const steps = await diagnoseLdap(memberOfConfig(), { user: 'alice' });
  const groups = steps.find((step) => step.step === 'groups');
  assert.ok(groups?.ok, JSON.stringify(steps));
  assert.match(groups.detail, new RegExp(`^3 group\\(s\\) under ${GROUPS}: "engineers", "staff", "all-staff"`));
  assert.match(groups.warning ?? '', /in-chain search of groups\.mode "memberOf" .* found no group, although groups list the entry/);

  const none = (await diagnoseLdap(memberOfConfig(), { user: 'dave' })).find((step) => step.step === 'groups');
  assert.equal(none?.warning, undefined, 'no group either way: nothing about the mode');
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SlapdHandle } from '../../scripts/slapd.ts';
import { startConfiguredSlapd } from '../helpers/slapd-configured.ts';
import { withDirectory, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap, type DiagnoseStep } from '../../src/directory/ldap-diagnose.ts';

// A service account the directory's access rules do not let read an attribute sees entries without
// it: the id (entryUUID, an operational attribute, is often hidden), or the groups' member attribute
// (slapd then leaves out every group a member search would find). The messages must name the
// service account as a cause, not only the configuration key.
const SUFFIX = 'dc=example,dc=org';
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;
const SERVICE = `cn=service,${SUFFIX}`;

let slapd: SlapdHandle;

before(async () => {
  slapd = await startConfiguredSlapd({
    suffix: SUFFIX,
    database: [
      'access to attrs=userPassword by self write by anonymous auth by * none',
      `access to attrs=entryUUID,member by dn.exact="${SERVICE}" none by users read by * none`,
      'access to * by users read by * none',
    ],
    ldif: [
      `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
      `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n`,
      `dn: uid=alice,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice\nsn: A\nuserPassword: alice-secret\n`,
      `dn: uid=bob,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\nsn: B\nuserPassword: bob-secret\n`,
      `dn: cn=staff,${GROUPS}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=alice,${PEOPLE}\n`,
    ].join('\n'),
  });
});

after(async () => {
  await slapd?.stop();
});

function configFor(settings: { users?: Record<string, unknown>; groups?: Record<string, unknown>; bind?: { dn: string; password: string } } = {}): LdapDirectoryConfig {
  const input = slapdDirectoryInput(slapd, { baseDn: PEOPLE, ...settings.users });
  return ldapDirectorySchema.parse({ ...input, bind: settings.bind ?? input.bind, groups: { baseDn: GROUPS, ...settings.groups }, accountState: { flavour: 'none' } });
}

const step = (steps: DiagnoseStep[], name: DiagnoseStep['step']): DiagnoseStep => steps.find((s) => s.step === name) ?? assert.fail(`no ${name} step: ${JSON.stringify(steps)}`);

test('an id attribute hidden from the service account: directory test names the service account as a cause', async () => {
  const lookup = step(await diagnoseLdap(configFor(), { user: 'alice' }), 'user-lookup');
  assert.equal(lookup.ok, false);
  assert.equal(lookup.detail, `found uid=alice,${PEOPLE}, but it has no entryUUID (users.idAttribute), or the service account ${SERVICE} may not read it: every sign-in of this user fails`);
});

test('an id attribute hidden from the service account: the sign-in is misconfigured, and the log says bind.dn may not read it', async () => {
  const outcome = await withDirectory(configFor(), (directory) => directory.authenticate('alice', 'alice-secret'));
  assert.ok(!outcome.ok && outcome.reason === 'misconfigured', JSON.stringify(outcome));
  assert.equal(outcome.detail, `entry uid=alice,${PEOPLE} has no entryUUID; check users.idAttribute, and that the service account (bind.dn) may read entryUUID`);
});

test('member hidden from the service account: "member of no group" warns that no group shows it a member value', async () => {
  const groups = step(await diagnoseLdap(configFor({ users: { idAttribute: 'uid' } }), { user: 'alice' }), 'groups');
  assert.equal(groups.detail, `member of no group under ${GROUPS}`);
  assert.equal(
    groups.warning,
    `no group under ${GROUPS} shows a member value (groups.memberAttribute) to the service account ${SERVICE}: groups are found by that attribute, so the service account must be allowed to read and search it`,
  );
});

test('no group matching groups.filter under the group base: "member of no group" warns that none is visible', async () => {
  const groups = step(await diagnoseLdap(configFor({ users: { idAttribute: 'uid' }, groups: { baseDn: PEOPLE } }), { user: 'alice' }), 'groups');
  assert.equal(groups.detail, `member of no group under ${PEOPLE}`);
  assert.match(groups.warning ?? '', new RegExp(`^no group matching groups\\.filter \\S+ is visible under ${PEOPLE} to the service account ${SERVICE}: check groups\\.baseDn and groups\\.filter`));
});

test('an account that sees groups and members: a user in none is simply in no group, without a warning', async () => {
  const admin = configFor({ users: { idAttribute: 'uid' }, bind: { dn: slapd.rootDn, password: slapd.rootPassword } });
  const bob = step(await diagnoseLdap(admin, { user: 'bob' }), 'groups');
  assert.deepEqual({ detail: bob.detail, warning: bob.warning }, { detail: `member of no group under ${GROUPS}`, warning: undefined });
  assert.equal(step(await diagnoseLdap(admin, { user: 'alice' }), 'groups').detail, `1 group(s) under ${GROUPS}: "staff"`);
});

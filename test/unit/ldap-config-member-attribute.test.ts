import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';

const directory = (memberAttribute: string) => ({
  kind: 'ldap',
  urls: ['ldap://ldap.example.org'],
  bind: { dn: 'cn=svc,dc=example,dc=org', password: 'secret' },
  users: { baseDn: 'ou=people,dc=example,dc=org' },
  groups: { memberAttribute, filter: '(objectClass=posixGroup)' },
});

test('groups.memberAttribute memberUid (posixGroup) is refused with the reason and where the workaround is', () => {
  const result = ldapDirectorySchema.safeParse(directory('memberUid'));
  assert.equal(result.success, false);
  const issue = result.error!.issues.find((i) => i.path.join('.') === 'groups.memberAttribute');
  assert.match(issue?.message ?? '', /"member" or "uniqueMember"/);
  assert.match(issue?.message ?? '', /memberUid, which holds user names, is not supported/);
  assert.match(issue?.message ?? '', /README "Connecting LDAP \/ Active Directory"/);
});

test('groups.memberAttribute uniqueMember is taken', () => {
  assert.equal(ldapDirectorySchema.parse(directory('uniqueMember')).groups.memberAttribute, 'uniqueMember');
});

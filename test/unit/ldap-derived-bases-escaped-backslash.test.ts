import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainRootOf, groupBaseOf } from '../../src/directory/ldap-derived-bases.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

// users.baseDn is split into RDNs as every DN is (core/distinguished-names.ts): `\\` is an escaped
// backslash, so the comma after it separates two RDNs.
const USERS = 'ou=back\\\\,dc=example,dc=org';

test('the dc= part of a users.baseDn whose value ends in an escaped backslash starts at its first dc', async () => {
  assert.equal(domainRootOf(USERS), 'dc=example,dc=org');
  const groups = ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://127.0.0.1:1'], bind: { dn: 'cn=service,dc=x', password: 'secret' }, users: { baseDn: USERS } }).groups;
  const search: SearchFn = () => Promise.reject(new Error('the dc= part needs no search'));
  assert.deepEqual(await groupBaseOf(search, groups, USERS), { dn: 'dc=example,dc=org', defaulted: 'the dc= part of users.baseDn' });
});

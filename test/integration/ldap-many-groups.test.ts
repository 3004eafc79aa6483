import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, SizeLimitExceededError, type SearchOptions } from 'ldapts';
import { startSlapd, type SlapdHandle, type SlapdOptions } from '../../scripts/slapd.ts';
import { capture, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { GroupParents } from '../../src/directory/ldap-group-parents.ts';
import { inGroup } from '../../src/policy/group-references.ts';
import { boot } from '../helpers/boot.ts';
import { createRp, rpBrowser, signIn } from '../helpers/oidc-rp.ts';
import * as oidc from 'openid-client';

// A user in more groups than the directory returns to one search (OpenLDAP's sizelimit, AD's
// MaxPageSize): the group searches must be paged, or the user cannot sign in at all.
const BASE = 'dc=example,dc=org';
const PEOPLE = `ou=people,${BASE}`;
const USER_DN = `uid=many,${PEOPLE}`;
const PASSWORD = 'Passw0rd!many';
/** What the service account may read in one unpaged search. */
const SIZE_LIMIT = 50;
/** More than one page of Stepgate's group searches (200), and far over the limit. */
const OWN_GROUPS = 250;
/** Groups holding the last of the user's groups: the search one nesting level up is over the limit as well. */
const PARENT_GROUPS = 60;

const ownGroup = (i: number): string => `member-${i}`;
const parentGroup = (i: number): string => `parent-${i}`;
const groupDn = (name: string): string => `cn=${name},ou=groups,${BASE}`;
const LAST_OWN_GROUP = ownGroup(OWN_GROUPS - 1);
const LAST_PARENT_GROUP = parentGroup(PARENT_GROUPS - 1);
const ALL_GROUPS = [...Array.from({ length: OWN_GROUPS }, (_, i) => ownGroup(i)), ...Array.from({ length: PARENT_GROUPS }, (_, i) => parentGroup(i))].sort();

function directoryLdif(): string[] {
  const group = (name: string, member: string): string => `dn: ${groupDn(name)}\nobjectClass: groupOfNames\ncn: ${name}\nmember: ${member}\n`;
  return [
    `dn: ${USER_DN}\nobjectClass: inetOrgPerson\nuid: many\ncn: Many Groups\nsn: Groups\nuserPassword: ${PASSWORD}\n`,
    ...Array.from({ length: OWN_GROUPS }, (_, i) => group(ownGroup(i), USER_DN)),
    ...Array.from({ length: PARENT_GROUPS }, (_, i) => group(parentGroup(i), groupDn(LAST_OWN_GROUP))),
  ];
}

function startDirectory(sizeLimit: SlapdOptions['sizeLimit']): Promise<SlapdHandle> {
  return startSlapd({ ldif: directoryLdif(), sizeLimit, monitor: false });
}

function directoryConfig(slapd: SlapdHandle, groups: Record<string, unknown> = {}) {
  return {
    kind: 'ldap' as const,
    urls: [slapd.url],
    connectTimeoutMs: 2000,
    searchTimeoutMs: 5000,
    bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
    users: { baseDn: PEOPLE },
    groups,
  };
}

const parseConfig = (slapd: SlapdHandle, groups: Record<string, unknown> = {}): LdapDirectoryConfig => ldapDirectorySchema.parse(directoryConfig(slapd, groups));

const sorted = (values: readonly string[]): string[] => [...values].sort();

describe('paged results lifted for the service account (AD, or OpenLDAP with size.prtotal=unlimited)', () => {
  let slapd: SlapdHandle;

  before(async () => {
    slapd = await startDirectory({ entries: SIZE_LIMIT, pagedTotal: 'unlimited' });
  });

  after(async () => {
    await slapd?.stop();
  });

  test('the service account cannot list the groups of the user in one unpaged search', async () => {
    const client = new Client({ url: slapd.url });
    try {
      await client.bind(slapd.serviceDn, slapd.servicePassword);
      await assert.rejects(client.search(BASE, { scope: 'sub', filter: `(member=${USER_DN})`, attributes: ['cn'] }), SizeLimitExceededError);
    } finally {
      await client.unbind();
    }
  });

  for (const nestedCacheSeconds of [60, 0]) {
    test(`sign-in and re-reading by id resolve every group, names and DNs (nestedCacheSeconds ${nestedCacheSeconds})`, async () => {
      await withDirectory(parseConfig(slapd, { nestedCacheSeconds }), async (directory) => {
        const outcome = await directory.authenticate('many', PASSWORD);
        assert.ok(outcome.ok, `sign-in failed: ${JSON.stringify(outcome)}`);
        assert.deepEqual(sorted(outcome.user.groups), ALL_GROUPS);
        assert.deepEqual(sorted(outcome.user.groupDns ?? []), ALL_GROUPS.map(groupDn).sort());
        assert.ok(inGroup(outcome.user, groupDn(LAST_PARENT_GROUP).toUpperCase()), 'a group one level up, by DN');

        // SSO reuse and token refresh read the user again by id
        const again = await directory.findUserById(outcome.user.id);
        assert.deepEqual(sorted(again?.groups ?? []), ALL_GROUPS);
        assert.deepEqual(sorted(again?.groupDns ?? []), ALL_GROUPS.map(groupDn).sort());
      });
    });
  }

  test('with the nested-group cache, a cold sign-in looks up the unknown groups of a level in batches, not one search per group', async () => {
    const client = new Client({ url: slapd.url });
    try {
      await client.bind(slapd.serviceDn, slapd.servicePassword);
      const searches: string[] = [];
      const search: SearchFn = (base, options) => {
        searches.push(String(options.filter));
        return client.search(base, options);
      };
      const parents = new GroupParents(60_000);
      const groups = async () => resolveGroups(search, parseConfig(slapd).groups, PEOPLE, { dn: USER_DN }, parents);

      const cold = await groups();
      assert.deepEqual(sorted(cold.names), ALL_GROUPS);
      assert.deepEqual(sorted(cold.dns), ALL_GROUPS.map(groupDn).sort());
      // the user's own groups: 1; the groups holding those 250: batches of 50, 5; the groups holding the 60 found there: 2
      assert.equal(searches.length, 1 + OWN_GROUPS / 50 + Math.ceil(PARENT_GROUPS / 50), searches.join('\n'));

      searches.length = 0;
      assert.deepEqual(sorted((await groups()).names), ALL_GROUPS);
      assert.equal(searches.length, 1, "warm: only the user's own memberships are read");
    } finally {
      await client.unbind();
    }
  });

  test('a policy that permits only one of the last groups admits the user, and the groups claim at userinfo lists every group', async () => {
    const app = await boot({ directory: directoryConfig(slapd) });
    try {
      const saved = await app.services.policies.save({ name: 'last-group-only', template: 'permit-specific-groups', parameters: { groups: [LAST_OWN_GROUP] } });
      assert.ok(saved.ok);
      const rp = await createRp(app, { policy: 'last-group-only' });
      const { tokens, claims } = await signIn(rp, rpBrowser(), { username: 'many', password: PASSWORD });
      // More groups than oidc.idTokenMaxGroups: the ID Token points to userinfo for them (OIDC Core 5.6.2).
      assert.deepEqual(claims['_claim_names'], { groups: 'userinfo' });
      const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
      assert.deepEqual(sorted(userinfo['groups'] as string[]), ALL_GROUPS);
    } finally {
      await app.close();
    }
  });
});

test('paged searches capped at the size limit too (stock OpenLDAP limits): the sign-in fails and the log names the limit to raise', async () => {
  const slapd = await startDirectory({ entries: SIZE_LIMIT });
  try {
    const { logger, lines } = capture();
    const outcome = await withDirectory(parseConfig(slapd), (directory) => directory.authenticate('many', PASSWORD), logger);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.ok ? undefined : outcome.reason, 'unavailable');
    const logged = lines.find((line) => line['event'] === 'ldap.unavailable');
    assert.match(String(logged?.['error']), /group search for uid=many,.*LDAP 4 size limit exceeded.*even with paged results.*size\.prtotal=unlimited/);
  } finally {
    await slapd.stop();
  }
});

test('the Active Directory in-chain search is paged as well (no AD here: the request is checked)', async () => {
  const requests: SearchOptions[] = [];
  const search: SearchFn = async (_base, options) => {
    requests.push(options);
    return { searchEntries: [], searchReferences: [] };
  };
  const groups = ldapDirectorySchema.shape.groups.parse({ mode: 'memberOf' });
  await resolveGroups(search, groups, PEOPLE, { dn: USER_DN });
  const inChain = requests.filter((options) => String(options.filter).includes('1.2.840.113556.1.4.1941'));
  assert.equal(inChain.length, 1);
  assert.ok(inChain[0]?.paged, 'the in-chain search asks for paged results');
});

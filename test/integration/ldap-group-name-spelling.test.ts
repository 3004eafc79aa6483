import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type SearchOptions } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { ALL_SCOPES, authRequest, callbackOf, createRp, redeem, rpBrowser } from '../helpers/oidc-rp.ts';
import { PEOPLE, personLdif } from '../helpers/ldap-directory.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { GroupParents } from '../../src/directory/ldap-group-parents.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

// Group data spelled in ways the directory treats as the same and Stepgate did not: a parent's member
// value naming a child group with other spacing (the nested-group cache then lost the parent for
// everyone reached through that child), a cn with a trailing or doubled space (no rule by name matched
// it), a multi-valued cn (the group was named by whichever value came first, not by its RDN), a DN
// spelling its cn in another case or spacing than the cn value does (slapd matches them alike; the
// group's name changed to the DN's spelling, and relying parties map names to roles case-sensitively).
const GROUPS = 'ou=groups,dc=example,dc=org';
const PASSWORD = 'Passw0rd!odd';
const userDn = (uid: string) => `uid=${uid},${PEOPLE}`;

/** LDIF lines; a value with a leading or trailing space is written base64, as LDIF requires. */
const line = (attribute: string, value: string) => (/^\s|\s$/.test(value) ? `${attribute}:: ${Buffer.from(value).toString('base64')}` : `${attribute}: ${value}`);
const group = (dn: string, cns: string[], members: string[]) => [`dn: ${dn}`, 'objectClass: groupOfNames', ...cns.map((cn) => line('cn', cn)), ...members.map((m) => line('member', m))].join('\n') + '\n';

const LDIF = [
  ...['u1', 'u3', 'spaces', 'plain', 'nobody', 'cased', 'quiet', 'tabbed'].map((uid) => personLdif({ uid, cn: uid, sn: uid, password: PASSWORD })),
  group(`cn=c1,${GROUPS}`, ['c1'], [userDn('u1')]),
  group(`cn=d2 x,${GROUPS}`, ['d2 x'], [userDn('u1'), userDn('u3')]),
  group(`cn=solo,${GROUPS}`, ['solo'], [userDn('u1')]),
  // the child `d2 x` spelled with two spaces, next to c1 spelled exactly, and a user: slapd matches all three
  group(`cn=parent,${GROUPS}`, ['parent'], [`cn=d2  x,${GROUPS}`, `cn=c1,${GROUPS}`, userDn('nobody')]),
  group(`cn=contractors\\ ,${GROUPS}`, ['contractors '], [userDn('spaces')]),
  group(`cn=Sales  EMEA,${GROUPS}`, ['Sales  EMEA'], [userDn('spaces')]),
  // the RDN is helpdesk; admins is listed first
  group(`cn=helpdesk,${GROUPS}`, ['admins', 'helpdesk'], [userDn('plain')]),
  // the RDN spells the value in another case, or case and spacing, than the one cn value does
  group(`cn=Admins,${GROUPS}`, ['admins'], [userDn('nobody'), userDn('cased')]),
  group(`cn=VPN  users,${GROUPS}`, ['VPN Users'], [userDn('cased')]),
  group(`cn=Support,${GROUPS}`, ['staff', 'support'], [userDn('cased')]),
  // a tab inside the name: slapd keeps `ops<TAB>team` and `ops team` apart, as two groups
  [`dn:: ${Buffer.from(`cn=ops\\09team,${GROUPS}`).toString('base64')}`, 'objectClass: groupOfNames', `cn:: ${Buffer.from('ops\tteam').toString('base64')}`, `member: ${userDn('tabbed')}`].join('\n') + '\n',
  // its cn is hidden from the service account (ACL below): only the DN can name it
  group(`cn=Quiet,${GROUPS}`, ['quiet'], [userDn('quiet')]),
];

let slapd: SlapdHandle;
let app: Booted;

before(async () => {
  slapd = await startSlapd({
    monitor: false,
    ppolicy: false,
    ldif: LDIF,
    database: ['access to attrs=userPassword by self write by anonymous auth by * none', `access to dn.exact="cn=Quiet,${GROUPS}" attrs=cn by * none`, 'access to * by users read by * none'],
  });
  app = await boot({
    directory: { kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 5000, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS } },
  });
  for (const definition of [
    { name: 'no-parent', rules: [{ when: { groups: ['parent'] }, then: { effect: 'deny' as const, message: 'Members of parent may not use this.' } }, { then: { effect: 'permit' as const } }] },
    { name: 'no-contractors', rules: [{ when: { groups: ['contractors'] }, then: { effect: 'deny' as const, message: 'No contractors.' } }, { then: { effect: 'permit' as const } }] },
    { name: 'sales-emea-only', template: 'permit-specific-groups', parameters: { groups: ['Sales EMEA'], message: 'Sales only.' } },
    { name: 'helpdesk-only', template: 'permit-specific-groups', parameters: { groups: ['helpdesk'], message: 'Helpdesk only.' } },
    { name: 'ops-team-only', template: 'permit-specific-groups', parameters: { groups: ['ops team'], message: 'Ops only.' } },
    { name: 'no-ops-team', rules: [{ when: { groups: ['ops team'] }, then: { effect: 'deny' as const, message: 'No ops.' } }, { then: { effect: 'permit' as const } }] },
    { name: 'admins-only', template: 'permit-specific-groups', parameters: { groups: ['admins'], message: 'Admins only.' } },
  ]) {
    const saved = await app.services.policies.save(definition);
    assert.ok(saved.ok, JSON.stringify(saved));
  }
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

/** An OIDC sign-in through openid-client at a client on `policy`: refused (the access-denied page), or the ID Token's groups. */
async function oidcSignIn(username: string, policy: string): Promise<'denied' | string[]> {
  const rp = await createRp(app, { policy, scopes: ['openid', 'profile', 'email', 'groups'] });
  const request = await authRequest(rp, { scope: ALL_SCOPES });
  const browser = rpBrowser();
  const page = await browser.submit(await browser.get(request.url.toString()), { username, password: PASSWORD });
  if (page.status === 403) return 'denied';
  const tokens = await redeem(rp, request, callbackOf(rp, page));
  return (tokens.claims()?.['groups'] as string[] | undefined) ?? [];
}

/** The groups of `uid` as resolveGroups gives them, with `groups` settings over the test's. */
async function resolvedFor(uid: string, groups: Record<string, unknown> = {}, memberOf?: string[]) {
  const client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  try {
    const search: SearchFn = (base: string, options: SearchOptions) => client.search(base, options);
    const config = ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS, ...groups } }).groups;
    return await resolveGroups(search, config, PEOPLE, { dn: userDn(uid), ...(memberOf ? { memberOf } : {}) });
  } finally {
    await client.unbind();
  }
}

/** The `groups` step of `directory test --user <user>`. */
async function groupsStepOf(user: string) {
  const config = ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE, idAttribute: 'uid' }, groups: { baseDn: GROUPS }, accountState: { flavour: 'none' } });
  return (await diagnoseLdap(config, { user })).find((step) => step.step === 'groups');
}

test('a parent naming a child group with other spacing holds it whoever signed in first: the deny rule by the parent holds for u3 after u1 filled the nested-group cache', async () => {
  assert.equal(await oidcSignIn('u1', 'no-parent'), 'denied', 'u1 is in parent through c1 and d2 x');
  assert.equal(await oidcSignIn('u3', 'no-parent'), 'denied', "u3 is in parent only through d2 x, spelled cn=d2  x in parent's member values");
  const u3 = await oidcSignIn('u3', 'permit-everyone');
  assert.deepEqual([...(u3 as string[])].sort(), ['d2 x', 'parent']);
});

test('the nested-group cache gives the answer of an uncached read, and a parent that also lists a user costs one check, not a search per child', async () => {
  const client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  try {
    const filters: string[] = [];
    const search: SearchFn = (base: string, options: SearchOptions) => (filters.push(`${options.scope} ${base} ${String(options.filter)}`), client.search(base, options));
    const groups = ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS } }).groups;
    const parents = new GroupParents(60_000);
    assert.deepEqual((await resolveGroups(search, groups, PEOPLE, { dn: userDn('u1') }, parents)).names.sort(), ['c1', 'd2 x', 'parent', 'solo']);
    // own groups; the level above c1, d2 x and solo; the check that parent holds solo, the one of them none of its values matched (it lists a user too); the level above parent
    assert.equal(filters.length, 4, filters.join('\n'));
    assert.match(filters[2]!, /^base cn=parent,/);
    assert.deepEqual((await resolveGroups(search, groups, PEOPLE, { dn: userDn('u3') }, parents)).names.sort(), ['d2 x', 'parent']);
    assert.deepEqual((await resolveGroups(search, groups, PEOPLE, { dn: userDn('u3') })).names.sort(), ['d2 x', 'parent']);
  } finally {
    await client.unbind();
  }
});

test('a cn with a trailing or doubled space is named as the directory compares it: rules by name match it, and relying parties get the clean name', async () => {
  assert.deepEqual([...((await oidcSignIn('spaces', 'permit-everyone')) as string[])].sort(), ['Sales EMEA', 'contractors']);
  assert.equal(await oidcSignIn('spaces', 'no-contractors'), 'denied');
  assert.notEqual(await oidcSignIn('spaces', 'sales-emea-only'), 'denied');
  assert.notEqual(await oidcSignIn('u1', 'no-contractors'), 'denied');
});

test('a tab inside a cn is kept in the name: a permit rule for `ops team` does not take in the other group `ops<TAB>team`, a deny rule does', async () => {
  assert.deepEqual(await oidcSignIn('tabbed', 'permit-everyone'), ['ops\tteam']);
  assert.equal(await oidcSignIn('tabbed', 'ops-team-only'), 'denied');
  assert.equal(await oidcSignIn('tabbed', 'no-ops-team'), 'denied');
  assert.deepEqual((await resolvedFor('tabbed', { mode: 'memberOf', nestedDepth: 0 }, [`cn=ops\\09team,${GROUPS}`])).names, ['ops\tteam']);
});

test('a group with several cn values is named by the one that is its RDN, in member mode and in memberOf mode alike', async () => {
  assert.deepEqual(await oidcSignIn('plain', 'permit-everyone'), ['helpdesk']);
  assert.notEqual(await oidcSignIn('plain', 'helpdesk-only'), 'denied');
  assert.equal(await oidcSignIn('plain', 'admins-only'), 'denied', 'plain is in no group whose RDN is admins');

  const client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  try {
    const search: SearchFn = (base: string, options: SearchOptions) => client.search(base, options);
    const config = (groups: Record<string, unknown>) => ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS, ...groups } }).groups;
    for (const uid of ['plain', 'spaces']) {
      const member = await resolveGroups(search, config({}), PEOPLE, { dn: userDn(uid) });
      const memberOf = await resolveGroups(search, config({ mode: 'memberOf', nestedDepth: 0 }), PEOPLE, { dn: userDn(uid), memberOf: member.dns });
      assert.deepEqual(memberOf.names, member.names, `${uid}: the names read from the DNs are the names read from the entries`);
    }
  } finally {
    await client.unbind();
  }
});

test('directory test warns of a group entry with several values of groups.nameAttribute', async () => {
  const groups = await groupsStepOf('plain');
  assert.equal(groups?.detail, `1 group(s) under ${GROUPS}: "helpdesk"`);
  assert.equal(
    groups?.warning,
    `cn=helpdesk,${GROUPS} has 2 cn values (groups.nameAttribute: "admins", "helpdesk"): its name is "helpdesk", and a rule naming it by another of them does not match it; give it one value`,
  );
});

test('a DN spelling the cn in another case or spacing: the group keeps the name its cn value spells, for relying parties that map names case-sensitively', async () => {
  assert.deepEqual([...((await oidcSignIn('cased', 'permit-everyone')) as string[])].sort(), ['VPN Users', 'admins', 'support']);
  const member = await resolvedFor('cased');
  assert.deepEqual([...member.names].sort(), ['VPN Users', 'admins', 'support']);
  // memberOf mode reads the group entries when it nests (slapd: through the member search it falls back to)
  const nested = await resolvedFor('cased', { mode: 'memberOf', nestedDepth: 1, filter: '(objectClass=groupOfNames)' }, member.dns);
  assert.match(nested.warning ?? '', /this directory is not Active Directory/);
  assert.deepEqual([...nested.names].sort(), ['VPN Users', 'admins', 'support']);
  // with nestedDepth 0 no entry is read, and the DN is all there is to name a group by
  assert.deepEqual([...(await resolvedFor('cased', { mode: 'memberOf', nestedDepth: 0 }, member.dns)).names].sort(), ['Admins', 'Support', 'VPN users']);
});

test('directory test points out only the groups whose name is not simply their one cn value', async () => {
  assert.deepEqual((await resolvedFor('cased')).unclearlyNamed?.map((group) => group.dn), [`cn=Support,${GROUPS}`], 'a single cn value matching the RDN, whatever its case: nothing to point out');
  const u1 = await groupsStepOf('u1');
  assert.equal(u1?.detail, `4 group(s) under ${GROUPS}: "c1", "d2 x", "solo", "parent"`);
  assert.equal(u1?.warning, undefined);
});

test('directory test warns of a group named by its DN because the service account reads no cn value that is its RDN', async () => {
  assert.deepEqual(await oidcSignIn('quiet', 'permit-everyone'), ['Quiet']);
  const groups = await groupsStepOf('quiet');
  assert.equal(groups?.detail, `1 group(s) under ${GROUPS}: "Quiet"`);
  assert.equal(
    groups?.warning,
    `the service account ${slapd.serviceDn} reads no cn value (groups.nameAttribute) in cn=Quiet,${GROUPS}: its name "Quiet" is taken from its DN, spelled as the DN spells it; let the service account read cn, and give the entry the RDN's value`,
  );
});

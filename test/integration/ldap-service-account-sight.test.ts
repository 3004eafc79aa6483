import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { capture, PEOPLE, personLdif, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { DirectoryHealth } from '../../src/directory/directory-health.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';

// What a service account may not see must not pass for what the directory holds. One that may not
// read the groups' member attribute finds every user in no group (a rule denying a group then admits
// everyone): the start-up check and the health check say so, as `directory test` does. A group base
// slapd hides from it is answered "no such object": the message must not only blame the DN.
const BASE = 'dc=example,dc=org';
const GROUPS = `ou=groups,${BASE}`;
const HIDDEN = `ou=hidden,${BASE}`;
const EMPTY = `ou=empty,${BASE}`;
const LIMITED = `cn=limited,${BASE}`;
const LIMITED_PASSWORD = 'limited-secret';

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({
    monitor: false,
    ppolicy: false,
    database: [
      'access to attrs=userPassword by self write by anonymous auth by * none',
      `access to dn.subtree="${GROUPS}" attrs=member by dn.exact="${LIMITED}" none by users read by * none`,
      `access to dn.subtree="${HIDDEN}" by dn.exact="${LIMITED}" none by users read by * none`,
      'access to * by users read by * none',
    ],
    ldif: [
      `dn: ${LIMITED}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: limited\nuserPassword: ${LIMITED_PASSWORD}\n`,
      `dn: ${HIDDEN}\nobjectClass: organizationalUnit\nou: hidden\n`,
      `dn: ${EMPTY}\nobjectClass: organizationalUnit\nou: empty\n`,
      personLdif({ uid: 'plain', cn: 'plain', sn: 'plain', password: 'Passw0rd!x' }),
      `dn: cn=staff,${GROUPS}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=plain,${PEOPLE}\n`,
    ],
  });
});

after(async () => {
  await slapd?.stop();
});

function configFor(account: 'service' | 'limited', groupsBaseDn = GROUPS, groups: Record<string, unknown> = {}): LdapDirectoryConfig {
  const bind = account === 'service' ? { dn: slapd.serviceDn, password: slapd.servicePassword } : { dn: LIMITED, password: LIMITED_PASSWORD };
  return ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 2000, bind, users: { baseDn: PEOPLE, idAttribute: 'uid' }, groups: { baseDn: groupsBaseDn, ...groups }, accountState: { flavour: 'none' } });
}

const MEMBERS_HIDDEN = `no group under ${GROUPS} shows a member value (groups.memberAttribute) to the service account ${LIMITED}: groups are found by that attribute, so the service account must be allowed to read and search it`;

test('a service account that may not read member: the start-up check logs an error naming the fix, once, and does not fail', async () => {
  const { logger, lines } = capture();
  await withDirectory(configFor('limited'), async (directory) => {
    await directory.startupCheck();
    await directory.startupCheck(); // as /readyz runs it: the groups are not looked at again
  }, logger);
  const hidden = lines.filter((line) => line['event'] === 'ldap.groups.members-hidden');
  assert.equal(hidden.length, 1, JSON.stringify(lines));
  assert.equal(hidden[0]!['level'], 50);
  assert.equal(hidden[0]!['msg'], `every user is in no group, so a rule denying a group admits everyone: ${MEMBERS_HIDDEN}`);
});

// memberOf mode's own filter is AD's (objectClass=group); these groups are slapd's.
const MEMBER_OF = { mode: 'memberOf', filter: '(objectClass=groupOfNames)' };

for (const [modes, groups] of [
  ['member mode with direct groups only (nestedDepth 0, still searched by member)', { mode: 'member', nestedDepth: 0 }],
  ['memberOf mode with nesting (the groups above are searched by member)', { ...MEMBER_OF, nestedDepth: 2 }],
] as const) {
  test(`a service account that may not read member in ${modes}: the start-up check logs the error`, async () => {
    const { logger, lines } = capture();
    await withDirectory(configFor('limited', GROUPS, groups), (directory) => directory.startupCheck(), logger);
    const hidden = lines.filter((line) => line['event'] === 'ldap.groups.members-hidden');
    assert.deepEqual(hidden.map((line) => [line['level'], line['msg']]), [[50, `every user is in no group, so a rule denying a group admits everyone: ${MEMBERS_HIDDEN}`]], JSON.stringify(lines));
  });
}

test('memberOf mode with nestedDepth 0 reads no group, so the groups and their members are not looked at', async () => {
  const { logger, lines } = capture();
  await withDirectory(configFor('limited', GROUPS, { ...MEMBER_OF, nestedDepth: 0 }), (directory) => directory.startupCheck(), logger);
  assert.deepEqual(lines.filter((line) => String(line['event']).startsWith('ldap.groups.')), []);
});

test('a directory down at the first start-up check: the groups are looked at by the first check that reaches it', async () => {
  const relay = await TcpRelay.to(Number(new URL(slapd.url).port));
  const { logger, lines } = capture();
  try {
    await relay.cut();
    await withDirectory({ ...configFor('limited'), urls: [relay.url] }, async (directory) => {
      await assert.rejects(directory.startupCheck(), /LDAP directory check failed/);
      await relay.restore();
      await directory.startupCheck(); // as /readyz runs it once the directory is back
    }, logger);
  } finally {
    await relay.cut();
  }
  assert.equal(lines.filter((line) => line['event'] === 'ldap.groups.members-hidden').length, 1, JSON.stringify(lines));
});

test('the periodic health check logs the same as an error, and directory test warns at base-dn', async () => {
  const { logger, lines } = capture();
  const config = configFor('limited');
  const report = await new DirectoryHealth(() => diagnoseLdap(config), logger, 60).run();
  assert.equal(report?.usable, true, 'sign-ins work; their groups do not');
  const health = lines.find((line) => line['event'] === 'directory.health');
  assert.equal(health?.['level'], 50);
  assert.equal(health?.['msg'], `directory health: every user is in no group, so a rule denying a group admits everyone: ${MEMBERS_HIDDEN}`);
  const baseDn = (await diagnoseLdap(config)).find((step) => step.step === 'base-dn');
  assert.deepEqual({ ok: baseDn?.ok, warning: baseDn?.warning }, { ok: true, warning: MEMBERS_HIDDEN });
});

test('an account that sees the members: no group finding is logged, and the health check is healthy', async () => {
  const { logger, lines } = capture();
  await withDirectory(configFor('service'), (directory) => directory.startupCheck(), logger);
  await new DirectoryHealth(() => diagnoseLdap(configFor('service')), logger, 60).run();
  assert.deepEqual(lines.filter((line) => String(line['event']).startsWith('ldap.groups.')), []);
  assert.equal(lines.find((line) => line['event'] === 'directory.health')?.['level'], 30);
});

test('a group base with no group at all (a directory without groups looks the same): start-up goes on, with a warning, and the health check does not complain', async () => {
  const { logger, lines } = capture();
  await withDirectory(configFor('service', EMPTY), (directory) => directory.startupCheck(), logger);
  const none = lines.find((line) => line['event'] === 'ldap.groups.none-visible');
  assert.equal(none?.['level'], 40);
  assert.match(String(none?.['msg']), new RegExp(`^users are in no group: no group matching groups\\.filter \\S+ is visible under ${EMPTY} to the service account ${slapd.serviceDn}: `));
  await new DirectoryHealth(() => diagnoseLdap(configFor('service', EMPTY)), logger, 60).run();
  assert.equal(lines.find((line) => line['event'] === 'directory.health')?.['level'], 30);
});

test('a group base hidden from the service account: "does not exist, or the service account may not read it"', async () => {
  const expected = `groups.baseDn ${HIDDEN} does not exist (LDAP 32 no such object), or the service account (bind.dn ${LIMITED}) may not read it: correct directory.groups.baseDn, or let the service account read it`;
  await withDirectory(configFor('limited', HIDDEN), (directory) => assert.rejects(directory.startupCheck(), { message: `LDAP directory check failed: ${expected}` }));
  const baseDn = (await diagnoseLdap(configFor('limited', HIDDEN))).find((step) => step.step === 'base-dn');
  assert.deepEqual({ ok: baseDn?.ok, detail: baseDn?.detail }, { ok: false, detail: expected });
});

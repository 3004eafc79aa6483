import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { fixtureLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';

// posixGroup entries list members by user name (memberUid), which sign-ins do not read (README,
// Groups): a rule naming such a group never matches. `directory test --user` says so for the user's.
const GROUPS = 'ou=groups,dc=example,dc=org';
const posixGroup = (cn: string, gid: number, memberUids: string[]) =>
  `dn: cn=${cn},${GROUPS}\nobjectClass: posixGroup\ncn: ${cn}\ngidNumber: ${gid}\n${memberUids.map((uid) => `memberUid: ${uid}\n`).join('')}`;

let slapd: SlapdHandle;
before(async () => {
  slapd = await startSlapd({ ldif: [...(await fixtureLdif()), posixGroup('contractors', 5001, ['alice', 'carol']), posixGroup('unix-admins', 5002, ['carol'])], monitor: false });
});
after(async () => {
  await slapd?.stop();
});

const config = () => ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd), healthCheckSeconds: 0 });
const groupsStep = async (user: string) => (await diagnoseLdap(config(), { user })).find((step) => step.step === 'groups');

test('directory test names the posixGroups that list the user in memberUid, which sign-ins do not read', async () => {
  const step = await groupsStep('alice');
  assert.equal(step?.ok, true);
  assert.match(String(step!.warning), /the user is listed by name in memberUid of posixGroup "contractors" under dc=example,dc=org, which sign-ins do not read/);
  assert.doesNotMatch(String(step!.warning), /unix-admins/);
  // What the warning says is what a sign-in does.
  const user = await withDirectory(config(), (directory) => directory.findUser('alice'));
  assert.ok(user && !user.groups.includes('contractors'), JSON.stringify(user?.groups));
});

test('a user in no posixGroup gets no such warning; one in two is told of both', async () => {
  assert.equal((await groupsStep('bob'))?.warning, undefined);
  assert.match(String((await groupsStep('carol'))?.warning), /memberUid of posixGroup ("contractors", "unix-admins"|"unix-admins", "contractors") under/);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { fixtureLdif, slapdDirectoryInput, withDirectory, PEOPLE } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { directoryCommands } from '../../src/cli/commands/directory.ts';
import { parseConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';

// The fixture holds both kinds of group: alice is in groupOfNames (member) and in `auditors`, a
// groupOfUniqueNames (uniqueMember). Sign-ins read one attribute; `directory test` names the other kind's groups.
// dave is added to six groupOfUniqueNames, more than the warning names.
const GROUPS = 'ou=groups,dc=example,dc=org';
const daveInUniqueGroups = Array.from({ length: 6 }, (_, i) => `dn: cn=unique-${i},${GROUPS}\nobjectClass: groupOfUniqueNames\ncn: unique-${i}\nuniqueMember: uid=dave,${PEOPLE}\n`).join('\n');

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({ ldif: [...(await fixtureLdif()), daveInUniqueGroups], monitor: false });
});

after(async () => {
  await slapd?.stop();
});

const config = (groups: Record<string, unknown> = {}) => ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd), healthCheckSeconds: 0, groups });
const groupsStep = async (user: string, groups: Record<string, unknown> = {}) => (await diagnoseLdap(config(groups), { user })).find((step) => step.step === 'groups');

test('directory test names the groups that list the user in the member attribute sign-ins do not read', async () => {
  const step = await groupsStep('alice');
  assert.equal(step?.ok, true);
  assert.match(step!.detail, /3 group\(s\) .*"engineers", "staff", "all-staff"$/);
  assert.match(String(step!.warning), new RegExp(`^the user is listed in uniqueMember of "auditors" under dc=example,dc=org, which sign-ins do not read: they look for the user in member alone \\(groups\\.memberAttribute\\), so these groups are not among the user's groups`));
  // What the warning says is what a sign-in does.
  const user = await withDirectory(config(), (d) => d.findUser('alice'));
  assert.ok(user && !user.groups.includes('auditors'), JSON.stringify(user?.groups));
});

test('with groups.memberAttribute uniqueMember, the groupOfNames groups are the ones named', async () => {
  const step = await groupsStep('alice', { memberAttribute: 'uniqueMember' });
  assert.match(step!.detail, /1 group\(s\) .*"auditors"$/);
  assert.match(String(step!.warning), /^the user is listed in member of "engineers" under dc=example,dc=org, which sign-ins do not read: they look for the user in uniqueMember alone/);
});

test('a user in no group of the other kind gets no such warning; one in many is told there are more', async () => {
  assert.equal((await groupsStep('bob'))?.warning, undefined);
  const dave = await groupsStep('dave');
  assert.match(String(dave!.warning), /^the user is listed in uniqueMember of "unique-\d", "unique-\d", "unique-\d", "unique-\d", "unique-\d" and more under /);
});

test('groups.filter that leaves the other kind out is a choice: no warning', async () => {
  assert.equal((await groupsStep('alice', { filter: '(objectClass=groupOfNames)' }))?.warning, undefined);
});

test('the CLI prints the groups step as WARN (exit 1), the other steps ok', async () => {
  const out: string[] = [];
  const parsed = parseConfig({ directory: { ...slapdDirectoryInput(slapd) } });
  const unused = (): never => assert.fail('directory test needs no store or secret key');
  const code = await runCli(directoryCommands, ['directory', 'test', '--user', 'alice'], { config: () => parsed, store: unused, box: unused, clock: systemClock, out: (line) => out.push(line), err: (line) => out.push(line) });
  assert.equal(code, 1, out.join('\n'));
  assert.deepEqual(out.map((line) => line.split(/ +/).slice(0, 2).join(' ')), ['ok connect', 'ok service-bind', 'ok base-dn', 'ok user-lookup', 'WARN groups'], out.join('\n'));
  assert.match(out.find((line) => line.startsWith('WARN  groups')) ?? '', /uniqueMember of "auditors"/);
});

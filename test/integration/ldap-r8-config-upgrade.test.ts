import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { freePort } from '../../scripts/free-port.ts';
import { capture, fixtureLdif, slapdDirectoryInput, withDirectory, PEOPLE } from '../helpers/ldap-directory.ts';
import { startUntilBanner } from '../helpers/node-process.ts';
import { withoutSecretKey } from '../helpers/env.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { DirectoryHealth } from '../../src/directory/directory-health.ts';

// A configuration an earlier version ran with keeps the server up after the upgrade: a users.filter
// or groups.filter ldapts read without its last parenthesis is used completed, with a warning. A base
// DN that does not exist is named as such: at start (a setting to correct, not a server to wait for),
// by the periodic health check (sign-ins cannot work) and in the log of each sign-in it fails.

const OPEN_USERS_FILTER = '(&(objectClass=inetOrgPerson)(uid=<username>)';
const OPEN_GROUPS_FILTER = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)';
const MISSING_GROUPS = 'ou=grps,dc=example,dc=org';
const pw = (uid: string): string => `Passw0rd!${uid}`;

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({ ldif: await fixtureLdif() });
});
after(async () => {
  await slapd?.stop();
});

/** The test slapd's directory, `users` added to its users settings, `extra` to the rest. */
const directory = (users: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...slapdDirectoryInput(slapd, users), healthCheckSeconds: 0, ...extra });

test('the server starts on the filter an earlier version used, naming its complete form; a missing groups.baseDn is a setting to correct', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-upgrade-'));
  try {
    const configFile = join(dataDir, 'config.json');
    await writeFile(configFile, JSON.stringify({ directory: directory({ filter: OPEN_USERS_FILTER }, { groups: { baseDn: MISSING_GROUPS } }) }));
    const { PUBLIC_URL: _publicUrl, ...inherited } = withoutSecretKey(process.env);
    const output = await startUntilBanner({ ...inherited, STEPGATE_CONFIG: configFile, STEPGATE_DATA_DIR: dataDir, PORT: String(await freePort()) });
    const lines = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const completed = lines.find((line) => line['event'] === 'ldap.filter.completed');
    assert.equal(completed?.['key'], 'directory.users.filter');
    assert.equal(completed?.['usedAs'], `${OPEN_USERS_FILTER})`);
    assert.match(String(completed?.['msg']), /^directory\.users\.filter is not one complete LDAP filter: it is used as \(&\(objectClass=inetOrgPerson\)\(uid=<username>\)\); write it so/);
    const check = lines.find((line) => String(line['msg']).startsWith('directory start-up check failed'));
    assert.equal(check?.['msg'], 'directory start-up check failed: the configuration does not fit the directory; sign-ins will fail until it is corrected');
    assert.match(String((check?.['err'] as { message?: string } | undefined)?.message), /groups\.baseDn ou=grps,dc=example,dc=org does not exist/);
    assert.doesNotMatch(output, /until it is reachable/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('open filters are used completed: a user is in their own groups, not in every group; directory test warns of each', async () => {
  const { logger, lines } = capture();
  const open = ldapDirectorySchema.parse(directory({ filter: OPEN_USERS_FILTER }, { groups: { filter: OPEN_GROUPS_FILTER } }));
  const outcome = await withDirectory(open, (d) => d.authenticate('alice', pw('alice')), logger);
  assert.ok(outcome.ok, JSON.stringify(outcome));
  const expected = await withDirectory(ldapDirectorySchema.parse(slapdDirectoryInput(slapd)), (d) => d.findUser('alice'));
  assert.deepEqual([...outcome.user.groups].sort(), [...expected!.groups].sort());
  assert.ok(!outcome.user.groups.includes('auditors'), outcome.user.groups.join(', '));
  const warned = lines.filter((line) => line['event'] === 'ldap.filter.completed').map((line) => [line['key'], line['usedAs']]);
  assert.deepEqual(warned, [
    ['directory.users.filter', `${OPEN_USERS_FILTER})`],
    ['directory.groups.filter', `${OPEN_GROUPS_FILTER})`],
  ]);
  const steps = await diagnoseLdap(open, { user: 'alice' });
  assert.match(String(steps.find((step) => step.step === 'user-lookup')?.warning), /^directory\.users\.filter is not one complete LDAP filter: it is used as \(&\(objectClass=inetOrgPerson\)\(uid=<username>\)\)/);
  assert.match(String(steps.find((step) => step.step === 'groups')?.warning), /^directory\.groups\.filter is not one complete LDAP filter: it is used as \(\|\(objectClass=groupOfNames\)\(objectClass=groupOfUniqueNames\)\)/);
});

test('a groups.baseDn that does not exist: the health check says sign-ins cannot work and why; a sign-in logs the base DN', async () => {
  const config = ldapDirectorySchema.parse(directory({}, { groups: { baseDn: MISSING_GROUPS } }));
  const { logger, lines } = capture();
  const report = await new DirectoryHealth(() => diagnoseLdap(config, { logger }), logger, 60).run();
  assert.equal(report?.usable, false);
  const health = lines.filter((line) => line['event'] === 'directory.health').at(-1);
  assert.equal(health?.['level'], 50);
  assert.equal(health?.['msg'], `directory health: sign-ins cannot work: groups.baseDn ${MISSING_GROUPS} does not exist (LDAP 32 no such object), or the service account (bind.dn ${slapd.serviceDn}) may not read it: correct directory.groups.baseDn, or let the service account read it`);

  const steps = await diagnoseLdap(config, { user: 'alice' });
  assert.deepEqual(steps.map((step) => `${step.step}:${step.ok}`), ['connect:true', 'service-bind:true', 'base-dn:false']);

  const outcome = await withDirectory(config, (d) => d.authenticate('alice', pw('alice')), logger);
  assert.equal(!outcome.ok && outcome.reason, 'unavailable', 'the user is told what they were told before: the directory cannot be used');
  assert.match(!outcome.ok && outcome.reason === 'unavailable' ? outcome.detail : '', new RegExp(`groups\\.baseDn ${MISSING_GROUPS} does not exist \\(LDAP 32 no such object\\)`));
  const logged = lines.find((line) => line['event'] === 'ldap.unavailable');
  assert.match(String(logged?.['error']), /search under ou=grps,dc=example,dc=org failed: groups\.baseDn/);
});

test('directory test reads the base DNs, and warns of an id another entry has too', async () => {
  const steps = await diagnoseLdap(ldapDirectorySchema.parse(directory({ idAttribute: 'mail' })), { user: 'erin' });
  assert.deepEqual(steps.map((step) => `${step.step}:${step.ok}`), ['connect:true', 'service-bind:true', 'base-dn:true', 'user-lookup:true', 'groups:true']);
  assert.equal(steps[2]!.detail, `users.baseDn ${PEOPLE} exists`);
  const lookup = steps[3]!;
  assert.match(lookup.detail, /^found uid=erin,ou=people,dc=example,dc=org: id shared@example\.org/);
  assert.match(String(lookup.warning), /^uid=frank,ou=people,dc=example,dc=org has the same id: mail \(users\.idAttribute\) must differ for every user/);
  const unique = await diagnoseLdap(ldapDirectorySchema.parse(slapdDirectoryInput(slapd)), { user: 'alice' });
  assert.equal(unique.find((step) => step.step === 'user-lookup')?.warning, undefined);
});

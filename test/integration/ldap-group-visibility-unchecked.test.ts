import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { capture, PEOPLE, personLdif, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { DirectoryHealth } from '../../src/directory/directory-health.ts';

// Whether the service account sees the groups' members is a diagnostic: two subtree searches of the
// group base. A directory can refuse those where sign-ins work (here: slapd's limit on searches its
// indexes do not narrow down, answered "admin limit exceeded"); that must not fail the start-up
// check, /readyz or the health check, only be logged. /readyz does not run it at all.
const GROUPS = 'ou=groups,dc=example,dc=org';
const PASSWORD = 'Passw0rd!sight';
/** The test slapd's service account (scripts/slapd.ts). */
const SERVICE = 'cn=service,dc=example,dc=org';

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({
    ppolicy: false,
    monitor: false,
    database: [
      // a search that may touch more than one entry before its filter is applied is refused
      `limits dn.exact="${SERVICE}" size.unchecked=1`,
      'access to attrs=userPassword by self write by anonymous auth by * none',
      'access to * by users read by * none',
    ],
    ldif: [
      personLdif({ uid: 'plain', cn: 'plain', sn: 'plain', password: PASSWORD }),
      ...['staff', 'admins', 'auditors'].map((cn) => `dn: cn=${cn},${GROUPS}\nobjectClass: groupOfNames\ncn: ${cn}\nmember: uid=${cn === 'staff' ? 'plain' : 'nobody'},${PEOPLE}\n`),
    ],
  });
});

after(async () => {
  await slapd?.stop();
});

function config(): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 2000, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE, idAttribute: 'uid' }, groups: { baseDn: GROUPS }, accountState: { flavour: 'none' } });
}

const unchecked = (lines: Array<Record<string, unknown>>) => lines.filter((line) => line['event'] === 'ldap.groups.visibility-unchecked');

test('start-up: a refused look at the groups is logged as a warning and fails nothing; /readyz does not look again', async () => {
  const { logger, lines } = capture();
  await withDirectory(config(), async (directory) => {
    await directory.startupCheck();
    const signIn = await directory.authenticate('plain', PASSWORD);
    assert.ok(signIn.ok && signIn.user.groups.includes('staff'), `sign-ins work: ${JSON.stringify(signIn)}`);
    await directory.startupCheck(); // as /readyz runs it
    await directory.startupCheck();
  }, logger);
  const warnings = unchecked(lines);
  assert.equal(warnings.length, 1, JSON.stringify(lines));
  assert.equal(warnings[0]!['level'], 40);
  assert.match(String(warnings[0]!['msg']), /^could not check whether the service account \S+ sees the groups and their members: .*admin ?limit/i);
});

test('the health check: a refused look at the groups leaves the directory usable, with a warning in the log', async () => {
  const { logger, lines } = capture();
  const report = await new DirectoryHealth(() => diagnoseLdap(config(), { logger }), logger, 60).run();
  assert.equal(report?.usable, true, JSON.stringify(report));
  assert.equal(report?.baseDns?.ok, true, JSON.stringify(report));
  assert.equal(report?.baseDns?.warning, undefined, 'not the warning that says every user is in no group');
  assert.match(report?.baseDns?.detail ?? '', new RegExp(`^users\\.baseDn ${PEOPLE} and groups\\.baseDn ${GROUPS} exist; could not check whether the service account \\S+ sees the groups`));
  assert.equal(unchecked(lines).length, 1, JSON.stringify(lines));
});

test('directory test, which has no log to read: the base-dn step says the look at the groups failed, and stays ok', async () => {
  const steps = await diagnoseLdap(config());
  const baseDn = steps.find((step) => step.step === 'base-dn');
  assert.equal(baseDn?.ok, true, JSON.stringify(steps));
  assert.equal(baseDn?.warning, undefined);
  assert.match(baseDn?.detail ?? '', /exist; could not check whether the service account \S+ sees the groups and their members: .*admin ?limit/i);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { renderLdifTemplate, startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, TEST_FINISHER } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { capture, PEOPLE, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { LdapFaultRelay } from '../helpers/ldap-fault-relay.ts';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';

/**
 * OpenLDAP ppolicy sends its expiry warning (timeBeforeExpiration) only within the policy's
 * pwdExpireWarning, 0 (never) by default. Stepgate computes the expiry itself, from pwdChangedTime and
 * the pwdMaxAge of the user's policy (pwdPolicySubentry, or accountState.defaultPolicyDn for users
 * without one), so the warning comes passwordExpiryWarningDays (14) before expiry whatever slapd's
 * window. Here slapd's default policy never warns and cn=shortwarn warns 3 days before; both expire
 * passwords after 90 days, and the users changed theirs 83 days ago (7 days left).
 */
const BASE = 'dc=example,dc=org';
const DEFAULT_POLICY = `cn=default,ou=policies,${BASE}`;
const SHORT_WARN = `cn=shortwarn,ou=policies,${BASE}`;
const DAYS = 86_400;
const pw = (uid: string): string => `Passw0rd!${uid}`;

let uuid = 0;
/** A user whose password was changed `changedDaysAgo` days ago (none: no pwdChangedTime), under `policy` (none: slapd's default). */
const person = (uid: string, changedDaysAgo?: number, policy?: string): string =>
  renderLdifTemplate(
    `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nentryUUID: 7e7e0000-0000-4000-8000-${(++uuid).toString(16).padStart(12, '0')}\nuserPassword: ${pw(uid)}\n` +
      (changedDaysAgo === undefined ? '' : `pwdChangedTime: {{now-${changedDaysAgo}d}}\n`) +
      (policy ? `pwdPolicySubentry: ${policy}\n` : ''),
  );
const shortWarnPolicy = `dn: ${SHORT_WARN}\nobjectClass: pwdPolicy\nobjectClass: device\ncn: shortwarn\npwdAttribute: userPassword\npwdMaxAge: ${90 * DAYS}\npwdExpireWarning: ${3 * DAYS}\npwdGraceAuthNLimit: 0\n`;

let slapd: SlapdHandle;
let relay: LdapFaultRelay;

before(async () => {
  const users = [person('subentry', 83, SHORT_WARN), person('defaulted', 83), person('fresh', 10, SHORT_WARN), person('unchanged'), person('soon', 88, SHORT_WARN), person('cached-a', 83), person('cached-b', 83)];
  // slapd's default policy as OpenLDAP ships it: no expiry warning of its own
  slapd = await startSlapd({ ldif: [shortWarnPolicy, ...users], ppolicy: { policy: { pwdExpireWarning: 0 } } });
  relay = await LdapFaultRelay.to(slapd.port, slapd.serviceDn);
});

after(async () => {
  await relay?.close();
  await slapd?.stop();
});

function directoryConfig(accountState: Record<string, unknown> = {}, url = slapd.url): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd), urls: [url], accountState });
}

/** passwordExpiresInDays of a right-password sign-in ('none' without a warning); fails on any other outcome. */
async function expiresInDays(directory: LdapDirectory, uid: string): Promise<number | 'none'> {
  const outcome = await directory.authenticate(uid, pw(uid));
  assert.ok(outcome.ok, `${uid}: ${JSON.stringify(outcome)}`);
  return outcome.passwordExpiresInDays ?? 'none';
}

async function withDirectory<T>(config: LdapDirectoryConfig, work: (directory: LdapDirectory) => Promise<T>, deps: ConstructorParameters<typeof LdapDirectory>[1] = {}): Promise<T> {
  const directory = new LdapDirectory(config, deps);
  try {
    return await work(directory);
  } finally {
    await directory.close();
  }
}

test('a user with pwdPolicySubentry is warned 7 days before expiry although the policy warns only 3 days before (pwdExpireWarning)', async () => {
  await withDirectory(directoryConfig(), async (directory) => {
    assert.equal(await expiresInDays(directory, 'subentry'), 7);
    assert.equal(await expiresInDays(directory, 'fresh'), 'none', '80 days left: no warning');
    assert.equal(await expiresInDays(directory, 'unchanged'), 'none', 'no pwdChangedTime: slapd never expires the password');
    assert.equal(await expiresInDays(directory, 'soon'), 2, 'inside slapd\'s own window as well');
  });
});

test('a user under slapd\'s default policy (pwdExpireWarning 0) is warned through accountState.defaultPolicyDn, and only with it', async () => {
  await withDirectory(directoryConfig({ defaultPolicyDn: DEFAULT_POLICY }), async (directory) => assert.equal(await expiresInDays(directory, 'defaulted'), 7));
  await withDirectory(directoryConfig(), async (directory) => assert.equal(await expiresInDays(directory, 'defaulted'), 'none', 'the policy in effect is not known: slapd sends no warning'));
  await withDirectory(directoryConfig({ defaultPolicyDn: DEFAULT_POLICY, passwordExpiryWarningDays: 5 }), async (directory) => assert.equal(await expiresInDays(directory, 'defaulted'), 'none', 'passwordExpiryWarningDays still decides'));
});

test('the sign-in shows the warning page: "expires in 7 days"', async () => {
  const app = await boot({ directory: directoryConfig({ defaultPolicyDn: DEFAULT_POLICY }) });
  try {
    for (const uid of ['subentry', 'defaulted']) {
      const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'expiry-app', rpName: 'Expiry App', rp: { allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
      const browser = new TestBrowser();
      const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: uid, password: pw(uid) });
      assert.match(page.body, /Your password expires soon/, `${uid}: got ${page.status} ${page.url}`);
      assert.match(page.body, /Your password expires in 7 days\./, uid);
    }
  } finally {
    await app.close();
  }
});

test('a policy is read once and reused for 5 minutes; a failed read is logged, the sign-in goes on without the warning, and it is read again a minute later', async () => {
  let now = Date.now();
  const { logger, lines } = capture();
  const reads = () => relay.baseReads.get(DEFAULT_POLICY.toLowerCase()) ?? 0;
  const unreadable = () => lines.filter((line) => line['event'] === 'ldap.password-policy.unreadable');
  await withDirectory(
    directoryConfig({ defaultPolicyDn: DEFAULT_POLICY }, relay.url),
    async (directory) => {
      relay.mode = { kind: 'fail-base-reads', base: DEFAULT_POLICY, resultCode: 80 };
      assert.equal(await expiresInDays(directory, 'cached-a'), 'none', 'the sign-in goes on, without the computed warning');
      assert.equal(reads(), 1);
      assert.equal(unreadable().length, 1);
      assert.equal(unreadable()[0]!['level'], 40, 'at warn');
      assert.equal(unreadable()[0]!['dn'], DEFAULT_POLICY);
      assert.match(String(unreadable()[0]!['error']), /LDAP 80/);
      now += 59_000;
      assert.equal(await expiresInDays(directory, 'cached-b'), 'none');
      assert.equal(reads(), 1, 'not read again at every sign-in while it fails');

      relay.mode = { kind: 'pass' };
      now += 1_000;
      assert.equal(await expiresInDays(directory, 'cached-a'), 7, 'read again after a minute; the failure was not kept');
      assert.equal(reads(), 2);
      now += 4 * 60_000;
      assert.equal(await expiresInDays(directory, 'cached-b'), 7);
      assert.equal(reads(), 2, 'reused within 5 minutes, for every user of the policy');
      now += 60_000;
      assert.equal(await expiresInDays(directory, 'cached-a'), 7);
      assert.equal(reads(), 3, 'read again after 5 minutes: a changed pwdMaxAge shows');
      assert.equal(unreadable().length, 1);
    },
    { logger, now: () => now },
  );
});

test('directory test --user shows the computed expiry, and warns when it cannot be computed', async () => {
  const expiryStep = async (uid: string, accountState: Record<string, unknown> = {}) => (await diagnoseLdap(directoryConfig(accountState), { user: uid })).find((step) => step.step === 'password-expiry');

  const bySubentry = await expiryStep('subentry');
  assert.equal(bySubentry?.ok, true);
  assert.equal(bySubentry?.warning, undefined);
  assert.match(String(bySubentry?.detail), /^expires \S+Z, in 7 day\(s\): changed \S+Z \(pwdChangedTime\), pwdMaxAge 90 day\(s\) in the policy cn=shortwarn,ou=policies,dc=example,dc=org \(pwdPolicySubentry\); sign-ins warn 14 day\(s\) before/);

  const byDefault = await expiryStep('defaulted', { defaultPolicyDn: DEFAULT_POLICY });
  assert.equal(byDefault?.warning, undefined);
  assert.match(String(byDefault?.detail), /in 7 day\(s\).* in the policy cn=default,ou=policies,dc=example,dc=org \(accountState\.defaultPolicyDn\)/);

  const unknown = await expiryStep('defaulted');
  assert.equal(unknown?.ok, true, 'sign-ins work: a warning, not a failure');
  assert.match(String(unknown?.detail), /the entry has no pwdPolicySubentry and accountState\.defaultPolicyDn is not set/);
  assert.match(String(unknown?.warning), /the expiry cannot be computed, so sign-ins warn only when slapd does .*: set accountState\.defaultPolicyDn/);

  const missing = `cn=nope,ou=policies,${BASE}`;
  const unreadable = await expiryStep('defaulted', { defaultPolicyDn: missing });
  assert.match(String(unreadable?.warning), new RegExp(`^the service account ${slapd.serviceDn} cannot read the policy: ${missing} does not exist, or the service account may not read it; the expiry cannot be computed`));

  const notAPolicy = await expiryStep('defaulted', { defaultPolicyDn: PEOPLE });
  assert.match(String(notAPolicy?.warning), /ou=people,dc=example,dc=org is not a password policy/);

  assert.equal(await expiryStep('unchanged'), undefined, 'no pwdChangedTime: slapd never expires the password, nothing to compute');
});

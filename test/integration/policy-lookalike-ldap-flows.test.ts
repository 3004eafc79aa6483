import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { ALL_SCOPES, authRequest, callbackOf, createRp, redeem, rpBrowser } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { PEOPLE, personLdif } from '../helpers/ldap-directory.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';

/**
 * Look-alike group names through real sign-ins against slapd, OIDC and SAML: a permit rule (or an MFA
 * rule above a deny) does not take in a look-alike of the group it names (`admın`, which slapd keeps
 * apart from `admin`; `cn=ADMİN,…` in another OU, which slapd would take for `admin` in the same one),
 * a deny rule does (`ＣＯＮＴＲＡＣＴＯＲＳ`), an exact member reached through a
 * look-alike child group is still a member, and `policy explain` says what the sign-in did.
 */
const GROUPS = 'ou=groups,dc=example,dc=org';
const PASSWORD = 'Passw0rd!alike';
const userDn = (uid: string) => `uid=${uid},${PEOPLE}`;
const b64 = (text: string) => Buffer.from(text).toString('base64');
const group = (cn: string, members: string[], under = GROUPS) => [`dn:: ${b64(`cn=${cn},${under}`)}`, 'objectClass: groupOfNames', `cn:: ${b64(cn)}`, ...members.map((m) => `member:: ${b64(m)}`)].join('\n') + '\n';

const LDIF = [
  ...['exact', 'dotless', 'wide', 'nested', 'dotted', 'plain'].map((uid) => personLdif({ uid, cn: uid, sn: uid, password: PASSWORD })),
  group('admin', [userDn('exact')]),
  group('admın', [userDn('dotless'), userDn('nested')]),
  // slapd takes cn=ADMİN for cn=admin in one OU (the same DN): a self-service OU of its own
  `dn: ou=self,${GROUPS}\nobjectClass: organizationalUnit\nou: self\n`,
  group('ADMİN', [userDn('dotted')], `ou=self,${GROUPS}`),
  group('ＣＯＮＴＲＡＣＴＯＲＳ', [userDn('wide')]),
  // the look-alike group is a member of staff: its members are staff, exactly
  group('staff', [`cn=admın,${GROUPS}`, userDn('plain')]),
];

let slapd: SlapdHandle;
let app: Booted;

async function cli(...words: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { services } = app;
  const code = await runCli(COMMANDS, words, { config: () => services.config, store: async () => services.store, box: () => services.box, clock: services.clock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

before(async () => {
  slapd = await startSlapd({ monitor: false, ppolicy: false, ldif: LDIF });
  app = await boot({
    directory: { kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 5000, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS } },
  });
  for (const definition of [
    { name: 'admin-only', template: 'permit-specific-groups', parameters: { groups: ['admin'], message: 'Admins only.' } },
    { name: 'admin-by-dn', template: 'permit-specific-groups', parameters: { groups: [`cn=admin,${GROUPS}`], message: 'Admins only.' } },
    { name: 'admins-mfa-else-deny', rules: [{ name: 'admins with MFA', when: { groups: ['admin'] }, then: { effect: 'require-mfa' as const } }, { name: 'nobody else', then: { effect: 'deny' as const, message: 'Admins only.' } }] },
    { name: 'no-contractors', rules: [{ name: 'no contractors', when: { groups: ['contractors'] }, then: { effect: 'deny' as const, message: 'No contractors.' } }, { then: { effect: 'permit' as const } }] },
    { name: 'only-non-contractors', rules: [{ name: 'not contractors', when: { not: { groups: ['contractors'] } }, then: { effect: 'permit' as const } }, { then: { effect: 'deny' as const, message: 'No contractors.' } }] },
    { name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'], message: 'Staff only.' } },
  ]) {
    const saved = await app.services.policies.save(definition);
    assert.ok(saved.ok, JSON.stringify(saved));
  }
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

type Outcome = 'denied' | 'second factor' | 'signed in';

async function oidcSignIn(username: string, policy: string): Promise<Outcome> {
  const rp = await createRp(app, { policy, scopes: ['openid', 'profile', 'email', 'groups'] });
  const request = await authRequest(rp, { scope: ALL_SCOPES });
  const browser = rpBrowser();
  const page = await browser.submit(await browser.get(request.url.toString()), { username, password: PASSWORD });
  if (page.status === 403) return 'denied';
  if (page.status === 200 && /name="code"|Set up your authenticator app/.test(page.body)) return 'second factor';
  await redeem(rp, request, callbackOf(rp, page));
  return 'signed in';
}

async function samlSignIn(username: string, policy: string): Promise<Outcome> {
  const sp = await TestSp.create(app, { name: `sp-${policy}-${username}`, register: { policy } });
  const browser = new TestBrowser();
  const passwordPage = await sendAuthnRequest(browser, sp, '', { disableRequestedAuthnContext: true });
  assert.ok(isPasswordPage(passwordPage));
  const page = await browser.submit(passwordPage, { username, password: PASSWORD });
  if (page.status === 403) return 'denied';
  if (page.status === 200 && /name="code"|Set up your authenticator app/.test(page.body)) return 'second factor';
  const response = Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
  assert.match(response, /status:Success/);
  return 'signed in';
}

/** policy explain's verdict on the browser line, in the words of Outcome. */
async function explained(username: string, policy: string): Promise<{ outcome: Outcome; out: string }> {
  const run = await cli('policy', 'explain', '--user', username, '--policy', policy);
  assert.equal(run.code, 0, run.err);
  const browserLine = /^browser +(.*)$/m.exec(run.out)?.[1] ?? '';
  const outcome: Outcome = /refused|denied|not allowed/i.test(browserLine) ? 'denied' : /second factor|code|set up/i.test(browserLine) ? 'second factor' : 'signed in';
  return { outcome, out: run.out };
}

const CASES: Array<[user: string, policy: string, expected: Outcome]> = [
  ['exact', 'admin-only', 'signed in'],
  ['dotless', 'admin-only', 'denied'],
  ['dotted', 'admin-only', 'denied'],
  ['exact', 'admin-by-dn', 'signed in'],
  ['dotted', 'admin-by-dn', 'denied'],
  ['dotless', 'admins-mfa-else-deny', 'denied'],
  ['exact', 'admins-mfa-else-deny', 'second factor'],
  ['wide', 'no-contractors', 'denied'],
  ['wide', 'only-non-contractors', 'denied'],
  ['exact', 'only-non-contractors', 'signed in'],
  ['nested', 'staff-only', 'signed in'],
  ['plain', 'staff-only', 'signed in'],
  ['dotless', 'staff-only', 'signed in'],
  ['wide', 'staff-only', 'denied'],
];

for (const [user, policy, expected] of CASES) {
  test(`${user} at a ${policy} application: ${expected} over OIDC and SAML, and policy explain agrees`, async () => {
    assert.equal(await oidcSignIn(user, policy), expected, 'OIDC');
    assert.equal(await samlSignIn(user, policy), expected, 'SAML');
    const { outcome, out } = await explained(user, policy);
    assert.equal(outcome, expected, out);
  });
}

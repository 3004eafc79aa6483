import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { PEOPLE, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import type { PolicyDefinition } from '../../src/policy/policy-types.ts';

/**
 * Group rules against a real directory, through a SAML sign-in: a rule for the group "admins" (by
 * name, or by its DN) lets in or keeps out only that group's members, never members of groups whose
 * name contains it (sysadmins, admins-old) or whose entry lies under it in the tree (a group is not a
 * container of its members). A name matches a group of that name in any OU; a DN only that entry.
 */
const BASE = 'dc=example,dc=org';
const GROUPS = `ou=groups,${BASE}`;
const ADMINS_DN = `cn=admins,${GROUPS}`;
const PASSWORD = 'Passw0rd!group';

const person = (uid: string): string => `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: ${PASSWORD}\n`;
const group = (dn: string, member: string): string => `dn: ${dn}\nobjectClass: groupOfNames\ncn: ${/^cn=([^,]+),/.exec(dn)![1]}\nmember: uid=${member},${PEOPLE}\n`;

const POLICIES: PolicyDefinition[] = [
  { name: 'admins-by-name', template: 'permit-specific-groups', parameters: { groups: ['admins'], message: 'Admins only.' } },
  { name: 'admins-by-dn', template: 'permit-specific-groups', parameters: { groups: [ADMINS_DN], message: 'Admins only.' } },
  { name: 'no-admins-by-dn', rules: [{ when: { groups: [ADMINS_DN] }, then: { effect: 'deny', message: 'Not for admins.' } }, { then: { effect: 'permit' } }] },
];

/** Who gets in under each policy, from the README's rule for names and DNs. */
const EXPECTED: Record<string, Record<string, 'signed in' | 'access denied'>> = {
  'admins-by-name': { ada: 'signed in', lab: 'signed in', sam: 'access denied', otto: 'access denied', dep: 'access denied' },
  'admins-by-dn': { ada: 'signed in', lab: 'access denied', sam: 'access denied', otto: 'access denied', dep: 'access denied' },
  'no-admins-by-dn': { ada: 'access denied', lab: 'signed in', sam: 'signed in', otto: 'signed in', dep: 'signed in' },
};

let slapd: SlapdHandle;
let app: Booted;
const sps = new Map<string, TestSp>();

before(async () => {
  slapd = await startSlapd({
    monitor: false,
    ldif: [
      ...['ada', 'sam', 'otto', 'dep', 'lab'].map(person),
      group(ADMINS_DN, 'ada'),
      group(`cn=sysadmins,${GROUPS}`, 'sam'),
      group(`cn=admins-old,${GROUPS}`, 'otto'),
      // An entry under the admins group's entry: in its subtree, not among its members.
      group(`cn=deputies,${ADMINS_DN}`, 'dep'),
      `dn: ou=lab,${BASE}\nobjectClass: organizationalUnit\nou: lab\n`,
      group(`cn=admins,ou=lab,${BASE}`, 'lab'),
    ],
  });
  app = await boot({ directory: slapdDirectoryInput(slapd) });
  for (const definition of POLICIES) {
    const saved = await app.services.policies.save(definition);
    assert.ok(saved.ok, JSON.stringify(saved));
    sps.set(definition.name, await TestSp.create(app, { name: `r9-${definition.name}`, register: { policy: definition.name } }));
  }
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

async function samlOutcome(policy: string, username: string): Promise<string> {
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sps.get(policy)!);
  assert.ok(isPasswordPage(page), `password page for ${username} at ${policy}: ${page.status} ${page.url}`);
  const answer = await browser.submit(page, { username, password: PASSWORD });
  if (answer.status === 200 && /name="SAMLResponse"/.test(answer.body)) return samlPostForm(answer).fields.SAMLResponse ? 'signed in' : 'no response';
  if (answer.status === 403 && /Access denied/.test(answer.body)) return 'access denied';
  return `unexpected page ${answer.status} ${answer.url}`;
}

test('the directory reports each user in only their own group, with its DN', async () => {
  const dep = await app.services.directory.findUser('dep');
  assert.deepEqual(dep?.groups, ['deputies']);
  assert.equal(dep?.groupDns?.length, 1);
  assert.match(dep!.groupDns![0]!, /^cn=deputies,cn=admins,ou=groups,dc=example,dc=org$/i);
});

for (const [policy, expected] of Object.entries(EXPECTED)) {
  test(`${policy}: only the admins group's own members are matched, not sysadmins, admins-old or a group under the admins entry`, async () => {
    const outcomes: Record<string, string> = {};
    for (const username of Object.keys(expected)) outcomes[username] = await samlOutcome(policy, username);
    assert.deepEqual(outcomes, expected);
  });
}

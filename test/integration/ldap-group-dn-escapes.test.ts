import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import type { PolicyDefinition } from '../../src/policy/policy-types.ts';

// Group DNs with RFC 4514 escapes: slapd answers with hex pairs (cn=Sales\2C EMEA), a policy is
// written with the usual spelling (cn=Sales\, EMEA). Both must name the same group, in a permit rule,
// a deny rule and a `not`, in the browser and in `policy explain`.
const BASE = 'dc=example,dc=org';
const PEOPLE = `ou=people,${BASE}`;
const GROUPS = `ou=groups,${BASE}`;
const PASSWORD = 'Passw0rd!dn';

let slapd: SlapdHandle;
let app: Booted;

const person = (uid: string): string => `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: ${PASSWORD}\n`;
const group = (rdnValue: string, cn: string, member: string): string => `dn: cn=${rdnValue},${GROUPS}\nobjectClass: groupOfNames\ncn: ${cn}\nmember: uid=${member},${PEOPLE}\n`;

const POLICIES: PolicyDefinition[] = [
  { name: 'sales-dn', template: 'permit-specific-groups', parameters: { groups: [`cn=Sales\\, EMEA,${GROUPS}`], message: 'Sales only.' } },
  { name: 'sales-hex-dn', template: 'permit-specific-groups', parameters: { groups: [`CN = sales\\2c emea , OU=Groups,DC=example,DC=org`], message: 'Sales only.' } },
  { name: 'sales-name', template: 'permit-specific-groups', parameters: { groups: ['Sales, EMEA'], message: 'Sales only.' } },
  { name: 'no-r-and-d', rules: [{ when: { groups: [`cn=R\\+D,${GROUPS}`] }, then: { effect: 'deny', message: 'Not for R+D.' } }, { then: { effect: 'permit' } }] },
  { name: 'sales-or-nothing', rules: [{ when: { not: { groups: [`cn=Sales\\2C EMEA,${GROUPS}`] } }, then: { effect: 'deny', message: 'Sales only.' } }, { then: { effect: 'permit' } }] },
];

async function cli(...words: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { services } = app;
  const code = await runCli(COMMANDS, words, { config: () => services.config, store: async () => services.store, box: () => services.box, clock: services.clock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function browserOutcome(policy: string, username: string): Promise<string> {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'saml', rpId: `sp-${policy}`, rpName: 'SP', rp: { policy, allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username, password: PASSWORD });
  if (/\/resume\?tx=/.test(page.url)) return 'signed in';
  if (page.status === 403 && /Access denied/.test(page.body)) return 'access denied';
  return `unexpected page ${page.status} ${page.url}`;
}

before(async () => {
  slapd = await startSlapd({ monitor: false, ldif: [person('smith'), person('jones'), group('Sales\\, EMEA', 'Sales, EMEA', 'smith'), group('R\\+D', 'R+D', 'smith')] });
  app = await boot({
    directory: { kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 5000, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE } },
  });
  for (const definition of POLICIES) {
    const saved = await app.services.policies.save(definition);
    assert.ok(saved.ok, JSON.stringify(saved));
  }
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

test('the directory spells the group DN with hex escapes', async () => {
  const smith = await app.services.directory.findUser('smith');
  assert.ok(smith?.groupDns?.some((dn) => /^cn=Sales\\2C EMEA,/i.test(dn)), JSON.stringify(smith?.groupDns));
});

for (const [policy, expected] of [
  ['sales-dn', { smith: 'signed in', jones: 'access denied' }],
  ['sales-hex-dn', { smith: 'signed in', jones: 'access denied' }],
  ['sales-name', { smith: 'signed in', jones: 'access denied' }],
  ['no-r-and-d', { smith: 'access denied', jones: 'signed in' }],
  ['sales-or-nothing', { smith: 'signed in', jones: 'access denied' }],
] as const) {
  test(`${policy}: the escaped group DN names the directory's group, in the browser and in policy explain`, async () => {
    for (const [username, outcome] of Object.entries(expected)) {
      assert.equal(await browserOutcome(policy, username), outcome, `${username} under ${policy}`);
      const explained = await cli('policy', 'explain', '--user', username, '--policy', policy);
      assert.equal(explained.code, 0, explained.err);
      assert.ok(/^browser {3}(.*)$/m.exec(explained.out)![1]!.startsWith(outcome), `${username} under ${policy}:\n${explained.out}`);
    }
  });
}

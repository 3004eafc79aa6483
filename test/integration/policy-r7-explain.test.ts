import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { createRp, createUser, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import { POLICY_COLLECTION, type PolicyRecord } from '../../src/policy/policy-store.ts';
import { ACR } from '../../src/policy/levels.ts';

const PASSWORD = 'correct horse 42';
const OUTSIDE = '203.0.113.7';
const UNKNOWN_CLASS = 'urn:example:retina';
let app: Booted;
let sp: TestSp;
let rp: TestRp;

async function cli(...words: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { services } = app;
  const code = await runCli(COMMANDS, words, { config: () => services.config, store: async () => services.store, box: () => services.box, clock: services.clock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const line = (out: string, label: string) => new RegExp(`^${label} +(.*)$`, 'm').exec(out)?.[1];

async function setPolicy(definition: unknown): Promise<{ code: number; out: string; err: string }> {
  const file = join(app.dataDir, 'policy.json');
  await writeFile(file, typeof definition === 'string' ? definition : JSON.stringify(definition));
  return cli('policy', 'set', '--file', file);
}

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['10.0.0.0/8'] } });
  const saved = await setPolicy({
    name: 'p-req',
    rules: [
      { name: 'asked mfa', when: { requested: ['mfa'] }, then: { effect: 'require-mfa' } },
      { name: 'asked password', when: { requested: ['password'] }, then: { effect: 'permit' } },
      { name: 'else', then: { effect: 'deny', message: 'Say what you want.' } },
    ],
  });
  assert.equal(saved.code, 0, saved.err);
  await createUser(app, { username: 'alice', password: PASSWORD, groups: ['staff'] });
  [sp, rp] = await Promise.all([TestSp.create(app, { name: 'req', register: { policy: 'p-req' } }), createRp(app, { policy: 'p-req' })]);
});
after(() => app?.close());

test('a SAML request for a class no sign-in can give: explain says the SP gets NoAuthnContext before any page, as the browser shows', async () => {
  const page = await sendAuthnRequest(new TestBrowser(), sp, '', { authnContext: [UNKNOWN_CLASS], racComparison: 'exact' });
  assert.equal(isPasswordPage(page), false, 'no sign-in page');
  assert.match(Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8'), /status:NoAuthnContext/);

  for (const target of [['--app', sp.entityId], ['--policy', 'p-req', '--protocol', 'saml']]) {
    const explained = await cli('policy', 'explain', '--user', 'alice', ...target, '--ip', OUTSIDE, '--acr', UNKNOWN_CLASS);
    assert.equal(explained.code, 0, explained.err);
    assert.equal(line(explained.out, 'browser'), 'the application gets the error unmet_authn_context, before any sign-in page', explained.out);
    assert.match(line(explained.out, 'decision')!, /^unmet authentication context — no level Stepgate gives satisfies exact urn:example:retina, so SAML answers NoAuthnContext before any sign-in page$/);
    assert.match(explained.out, /^ {2}\(not evaluated: the request is answered before anyone signs in\)$/m);
    assert.doesNotMatch(explained.out, /Say what you want|MATCH/, 'the deny rule never decides');
  }

  // A class Stepgate gives is evaluated by the policy as before: the password page, then the rule.
  assert.ok(isPasswordPage(await sendAuthnRequest(new TestBrowser(), sp, '', { authnContext: [ACR.password], racComparison: 'exact' })));
  const evaluated = await cli('policy', 'explain', '--user', 'alice', '--app', sp.entityId, '--ip', OUTSIDE, '--acr', 'password');
  assert.match(evaluated.out, /^browser {3}signed in \(acr urn:oasis:names:tc:SAML:2\.0:ac:classes:PasswordProtectedTransport; amr pwd\)$/m);
});

test('--comparison other than exact is refused for OIDC, which has no comparison', async () => {
  const base = ['policy', 'explain', '--user', 'alice', '--ip', OUTSIDE, '--acr', 'password'];
  // A usage error: its first line says what is wrong, the command's help follows.
  const usageError = ({ code, out, err }: { code: number; out: string; err: string }) => ({ code, out, err: err.split('\n')[0] });
  const forClient = await cli(...base, '--app', rp.client.id, '--comparison', 'better');
  assert.deepEqual(usageError(forClient), { code: 2, out: '', err: `--comparison better: ${rp.client.id} is an OIDC client, and OIDC acr_values have no comparison (an OIDC request is always exact)` });
  for (const protocol of [[], ['--protocol', 'oidc']]) {
    const forPolicy = await cli(...base, '--policy', 'p-req', ...protocol, '--comparison', 'minimum');
    assert.deepEqual(usageError(forPolicy), { code: 2, out: '', err: '--comparison minimum: OIDC acr_values have no comparison (an OIDC request is always exact); give --protocol saml to explain a SAML request' }, protocol.join(' '));
  }
  assert.equal((await cli(...base, '--app', rp.client.id, '--comparison', 'exact')).code, 0);
  assert.equal((await cli(...base, '--app', sp.entityId, '--comparison', 'better')).code, 0);
  assert.equal((await cli(...base, '--policy', 'p-req', '--protocol', 'saml', '--comparison', 'minimum')).code, 0);
});

test('with --policy the refusal names no made-up application, in the decision and in the browser line alike', async () => {
  const explained = await cli('policy', 'explain', '--user', 'alice', '--policy', 'deny-everyone', '--ip', OUTSIDE);
  assert.equal(explained.code, 0, explained.err);
  const message = 'You are not allowed to use this application. If you need it, ask your helpdesk for access.';
  assert.equal(line(explained.out, 'decision'), `deny — the user sees: "${message}"`);
  assert.equal(line(explained.out, 'browser'), `access denied: "${message}"`);
  assert.doesNotMatch(explained.out, /explain/);
});

test('policy set refuses ignored template parameters, control characters in names and deep nesting, in plain words', async () => {
  const ignored = await setPolicy({ name: 'v-2', template: 'permit-specific-groups', parameters: { groups: ['staff'], networks: ['office'] } });
  assert.deepEqual(ignored, { code: 1, out: '', err: 'Policy not saved:\n  - parameters.networks: template permit-specific-groups takes no networks, it would be ignored (its parameters: groups, message); use permit-everyone-require-mfa-outside-trusted-networks, or write rules' });
  const forged = await setPolicy({ name: 'v-12', rules: [{ name: 'x: when everyone → deny\n  MATCH #1 all good', then: { effect: 'permit' } }] });
  assert.deepEqual(forged, { code: 1, out: '', err: 'Policy not saved:\n  - rules[0].name: must not contain control or format characters (line breaks, tabs, direction marks)' });
  const deep = await setPolicy(`{"name":"v-22","rules":[{"when":${'{"not":'.repeat(1000)}{"username":["x"]}${'}'.repeat(1000)},"then":{"effect":"permit"}}]}`);
  assert.deepEqual(deep, { code: 1, out: '', err: 'Policy not saved:\n  - rules[0].when: "not" is nested more than 32 deep' });
  for (const name of ['v-2', 'v-12', 'v-22']) assert.equal(await app.services.policies.get(name), undefined, `${name} not saved`);
});

test('a policy saved before names were checked still loads, and explain and list show its text escaped, one line each', async () => {
  await app.services.store.collection<PolicyRecord>(POLICY_COLLECTION).put({
    id: 'old-v-12',
    definition: { name: 'old-v-12', description: 'old\u001b[2J', rules: [{ name: 'x: when everyone → deny\n  MATCH #1 all good', then: { effect: 'permit' } }] },
    updatedAt: 0,
  });
  const explained = await cli('policy', 'explain', '--user', 'alice', '--policy', 'old-v-12', '--ip', OUTSIDE);
  assert.equal(explained.code, 0, explained.err);
  assert.deepEqual(explained.out.split('\n').slice(2, 4), ['policy    old-v-12 (custom): old\\u{1b}[2J', '  MATCH #1 x: when everyone → deny\\u{a}  MATCH #1 all good: when everyone → permit']);
  assert.match(explained.out, /^rule {6}#1 "x: when everyone → deny\\u\{a\} {2}MATCH #1 all good"$/m);
  assert.match((await cli('policy', 'list')).out, /^ {2}old-v-12 +custom +old\\u\{1b\}\[2J$/m);
});

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createRp, createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import { TEMPLATE_IDS } from '../../src/policy/policy-types.ts';
import { TEMPLATE_PARAMETERS } from '../../src/policy/templates.ts';

const PASSWORD = 'correct horse 42';
const IPS = { office: '10.9.8.7', outside: '203.0.113.7' } as const;
let app: Booted;

async function cli(...words: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliOn(app, ...words);
}

async function cliOn(target: Booted, ...words: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { services } = target;
  const code = await runCli(COMMANDS, words, {
    config: () => services.config,
    store: async () => services.store,
    box: () => services.box,
    clock: services.clock,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** What the browser shows right after the password, in the words `policy explain` uses. */
function outcome(page: Page): string {
  if (/\/resume\?tx=/.test(page.url)) return 'signed in';
  if (/Set up your authenticator app/.test(page.body)) return 'asked to set up a second factor';
  if (/Enter your code/.test(page.body)) return 'asked for a second factor';
  // A refusal by the policy, or for a first second factor set up outside mfa.enrollment.networks (a page of its own).
  if (page.status === 403 && /Access denied|Set up your second step from/.test(page.body)) return 'access denied';
  return `unexpected page ${page.status} ${page.url}`;
}

async function browserOutcome(policy: string, username: string, ip: string, target = app): Promise<string> {
  const headers = { 'x-forwarded-for': ip };
  const browser = new TestBrowser();
  const tx = await target.services.interaction.deps.transactions.create({ protocol: 'saml', rpId: `sp-${policy}`, rpName: 'SP', rp: { policy, allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const login = await browser.get(`${target.url}/login/${tx.id}`, { headers });
  return outcome(await browser.submit(login, { username, password: PASSWORD }, undefined, headers));
}

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['10.0.0.0/8'] } });
  const parameters: Record<string, unknown> = { groups: ['staff'], message: 'Staff only.' };
  for (const template of TEMPLATE_IDS) {
    // Each template is given only the parameters it takes: another one is refused.
    const own = Object.fromEntries(Object.entries(parameters).filter(([name]) => (TEMPLATE_PARAMETERS[template] as readonly string[]).includes(name)));
    const saved = await app.services.policies.save({ name: `t-${template}`, template, parameters: own });
    assert.ok(saved.ok, JSON.stringify(saved));
  }
  for (const [username, groups] of [['member', ['staff']], ['outsider', ['sales']], ['member-mfa', ['staff']], ['outsider-mfa', ['sales']]] as const) {
    const id = await createUser(app, { username, password: PASSWORD, groups: [...groups] });
    if (!username.endsWith('-mfa')) continue;
    const user = (await app.services.directory.findUserById(id))!;
    const view = await app.services.mfa.totp.enrollment.begin({ user, sessionId: 'setup' });
    assert.ok((await app.services.mfa.totp.enrollment.finish({ user, sessionId: 'setup', ip: '127.0.0.1' }, oathtoolTotp(view.secret, Date.now()))).ok);
  }
});
after(() => app?.close());

describe('policy explain agrees with the browser', () => {
  for (const template of TEMPLATE_IDS) {
    test(template, async () => {
      for (const username of ['member', 'outsider', 'member-mfa', 'outsider-mfa'])
        for (const ip of Object.values(IPS)) {
          const explained = await cli('policy', 'explain', '--user', username, '--policy', `t-${template}`, '--ip', ip);
          assert.equal(explained.code, 0, explained.err);
          const said = /^browser {3}(.*)$/m.exec(explained.out)![1]!;
          const seen = await browserOutcome(`t-${template}`, username, ip);
          assert.ok(said.startsWith(seen), `${username} from ${ip}: explain says "${said}", the browser shows "${seen}"\n${explained.out}`);
        }
    });
  }

  test('explain quotes each group name, so a name with a comma reads as one group', async () => {
    await createUser(app, { username: 'emea-seller', password: PASSWORD, groups: ['Sales, EMEA', 'staff'] });
    const { out, code } = await cli('policy', 'explain', '--user', 'emea-seller', '--policy', 'permit-everyone');
    assert.equal(code, 0);
    assert.match(out, /^user {6}emea-seller \(groups: "Sales, EMEA", "staff"; second factors: none\)$/m);
  });

  test('explain by application id names the rule that decided', async () => {
    const rp = await createRp(app, { policy: 't-permit-specific-groups' });
    const { out, code } = await cli('policy', 'explain', '--user', 'outsider', '--app', rp.client.id, '--ip', IPS.outside);
    assert.equal(code, 0);
    assert.match(out, new RegExp(`app {7}${rp.client.name} \\(oidc ${rp.client.id}\\)`));
    assert.match(out, /no {4}#1 permit the listed groups: when groups \["staff"\] → permit/);
    assert.match(out, /MATCH #2 deny everyone else: when everyone → deny \("Staff only\."\)/);
    assert.match(out, /decision {2}deny — the user sees: "Staff only\."/);
    assert.match(out, /rule {6}#2 "deny everyone else"/);
    const unknown = await cli('policy', 'explain', '--user', 'outsider', '--app', 'nope');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /No SAML service provider or OIDC client is registered as "nope"/);
    const both = await cli('policy', 'explain', '--user', 'outsider', '--app', rp.client.id, '--policy', 'permit-everyone');
    assert.equal(both.code, 2, 'the application has its own policy: a --policy beside it is refused, not ignored');
    assert.match(both.err, /^give --app or --policy, not both/);
    assert.equal(both.out, '');
  });

  test('invalid input is a usage error that names the option, not an answer for something else', async () => {
    const base = ['policy', 'explain', '--user', 'outsider', '--policy', 'permit-everyone'];
    for (const [extra, message] of [
      [['--ip', '999.1.1.1'], /^--ip takes an IP address/],
      [['--mfa-age', '-3'], /^--mfa-age takes a number of seconds/],
      [['--acr', 'mfa', '--comparison', 'foo'], /^--comparison takes exact, minimum, better or maximum/],
      [['--comparison', 'minimum'], /^--comparison and --essential need --acr/],
      [['--protocol', 'foo'], /^--protocol takes saml or oidc/],
      [['--acr', 'bogus'], /^--acr takes password, mfa or ACR URIs, not "bogus"/],
    ] as const) {
      const result = await cli(...base, ...extra);
      assert.equal(result.code, 2, extra.join(' '));
      assert.match(result.err, message, extra.join(' '));
      assert.equal(result.out, '', extra.join(' '));
    }
    const nope = await cli('policy', 'explain', '--user', 'outsider', '--policy', 'nope');
    assert.equal(nope.code, 2);
    assert.match(nope.err, /^--policy: no policy named "nope"/);
    assert.equal((await cli(...base, '--acr', 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport,mfa', '--comparison', 'minimum', '--ip', '2001:db8::1', '--mfa-age', '0', '--protocol', 'saml')).code, 0);
  });

  test('explain and policy set know only the second factors this installation has', async () => {
    const explained = await cli('policy', 'explain', '--user', 'outsider', '--policy', 'permit-everyone-require-mfa');
    assert.equal(explained.code, 0, explained.err);
    assert.match(explained.out, /^decision {2}step up — a second factor \(totp\) — then acr /m);
    const file = join(app.dataDir, 'fido-policy.json');
    await writeFile(file, JSON.stringify({ name: 'fido', rules: [{ name: 'admins', then: { effect: 'require-mfa', methods: ['webauthn'] } }] }));
    const refused = await cli('policy', 'set', '--file', file);
    assert.equal(refused.code, 1);
    assert.equal(refused.err, 'Policy not saved:\n  - rules[0].then.methods[0]: rule "admins" asks for "webauthn", which this installation does not have (available: totp)');
    assert.equal(await app.services.policies.get('fido'), undefined);
  });

  test('policy set validates before saving; list, show and remove', async () => {
    const file = join(app.dataDir, 'bad-policy.json');
    await writeFile(file, JSON.stringify({ name: 'broken', rules: [{ when: { groups: ['cn=x,,y'], networks: ['10.0.0.0/40'] }, then: { effect: 'require-mfa', methods: ['sms'] } }] }));
    const refused = await cli('policy', 'set', '--file', file);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /Policy not saved:\n {2}- rules\[0\]\.then\.methods\[0\]: unknown method "sms"/);
    await writeFile(file, JSON.stringify({ name: 'broken', rules: [{ when: { groups: ['cn=x,,y'], networks: ['10.0.0.0/40'] }, then: { effect: 'permit' } }] }));
    const twoProblems = await cli('policy', 'set', '--file', file);
    assert.match(twoProblems.err, /groups\[0\]: "cn=x,,y" looks like a DN/);
    assert.match(twoProblems.err, /networks\[0\]: "10\.0\.0\.0\/40" is not a valid IPv4 or IPv6 CIDR/);
    assert.equal(await app.services.policies.get('broken'), undefined, 'nothing saved');

    await writeFile(file, JSON.stringify({ name: 'office-only', rules: [{ when: { networks: ['office'] }, then: { effect: 'permit' } }, { then: { effect: 'deny', message: 'Office only.' } }] }));
    assert.equal((await cli('policy', 'set', '--file', file)).code, 0);
    assert.match((await cli('policy', 'list')).out, /^\* permit-everyone .*\n(.|\n)*office-only +custom/m);
    assert.match((await cli('policy', 'show', 'office-only')).out, /"message": "Office only\."/);
    assert.equal((await cli('policy', 'remove', 'permit-everyone')).code, 1);
    assert.equal((await cli('policy', 'remove', 'office-only')).code, 0);
  });
});

test('with mfa.enrollment.networks set, explain agrees with the browser for a user who has no second factor yet', async () => {
  const gated = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['10.0.0.0/8'] }, mfa: { enrollment: { networks: ['office'] } } });
  try {
    await createUser(gated, { username: 'newcomer', password: PASSWORD, groups: ['staff'] });
    const seen: Record<string, string> = {};
    for (const [where, ip] of Object.entries(IPS)) {
      const explained = await cliOn(gated, 'policy', 'explain', '--user', 'newcomer', '--policy', 'permit-everyone-require-mfa', '--ip', ip);
      assert.equal(explained.code, 0, explained.err);
      const said = /^browser {3}(.*)$/m.exec(explained.out)![1]!;
      seen[where] = await browserOutcome('permit-everyone-require-mfa', 'newcomer', ip, gated);
      assert.ok(said.startsWith(seen[where]), `from ${ip}: explain says "${said}", the browser shows "${seen[where]}"\n${explained.out}`);
      if (where === 'outside') assert.match(explained.out, /^note {6}newcomer has no second factor, and 203\.0\.113\.7 is outside mfa\.enrollment\.networks \(office\)/m);
      else assert.doesNotMatch(explained.out, /^note/m);
    }
    assert.deepEqual(seen, { office: 'asked to set up a second factor', outside: 'access denied' });
  } finally {
    await gated.close();
  }
});

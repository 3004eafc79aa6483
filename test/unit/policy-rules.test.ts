import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type DecisionFacts } from '../../src/policy/policy-engine.ts';
import { parseCidr, parseIpOrCidr } from '../../src/core/ip-ranges.ts';
import { compileNetworks, ipInNetworks } from '../../src/policy/networks.ts';
import { inGroup } from '../../src/policy/group-references.ts';
import { wildcardMatch } from '../../src/policy/patterns.ts';
import { canonicalDn } from '../../src/core/distinguished-names.ts';
import { ACR } from '../../src/policy/levels.ts';
import { nextStep } from '../../src/login/flow.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { RequestedAuthnContext, User } from '../../src/core/types.ts';

const NOW = 1_800_000_000_000;
const networks = compileNetworks({ office: ['192.0.2.0/24'], vpn: ['2001:db8:aa::/48'] });
const alice: User = {
  id: 'a',
  username: 'alice',
  groups: ['engineers', 'staff'],
  attributes: { memberof: ['CN=Admins,OU=Groups,DC=corp,DC=example', 'CN=Staff,OU=Groups,DC=corp,DC=example'], c: ['DE'], department: ['Research'] },
};
const pwd = [{ method: 'pwd' as const, at: NOW }];
const withOtp = [...pwd, { method: 'otp' as const, at: NOW - 30_000 }];

function policy(...rules: Rule[]): Policy {
  return { name: 'custom', description: '', source: 'custom', rules };
}

function facts(p: Policy, overrides: Partial<DecisionFacts> = {}): DecisionFacts {
  return { policy: p, user: alice, enrolledMethods: ['totp'], factors: pwd, network: { ip: '198.51.100.1' }, protocol: 'saml', now: NOW, ...overrides };
}

describe('conditions', () => {
  test('wildcards are case-insensitive, whole-value, and treat regex characters literally', () => {
    assert.ok(wildcardMatch('cn=*admins*', 'CN=Admins,OU=Groups'));
    assert.ok(wildcardMatch('ext-*', 'EXT-bob'));
    assert.ok(!wildcardMatch('ext-*', 'bob-ext-1'));
    assert.ok(!wildcardMatch('a.c', 'abc'));
    assert.ok(wildcardMatch('*', ''));
  });

  test('wildcards fold case beyond ASCII: dotted and dotless I, ß and SS, the Kelvin sign; accents stay', () => {
    assert.ok(wildcardMatch('admin', 'ADMİN'));
    assert.ok(wildcardMatch('adm*', 'ADMıN'));
    assert.ok(wildcardMatch('strasse', 'STRAẞE'));
    assert.ok(wildcardMatch('ß*', 'SSo'));
    assert.ok(wildcardMatch('k*', '\u212Aelvin'));
    assert.ok(wildcardMatch('ＥＸＴ-*', 'ext-1'), 'fullwidth letters are their plain letters');
    assert.ok(!wildcardMatch('jose', 'josé'));
    assert.ok(!wildcardMatch('a＊', 'abc'), 'only * is a wildcard, not its fullwidth form');
    assert.ok(wildcardMatch('😀*', '😀x'));
  });

  test('DNs compare in canonical form: RFC 4514 escapes decoded, types and values without case, multi-valued RDNs in any order', () => {
    const same = [
      ['cn=Sales\\, EMEA,ou=groups,dc=example,dc=org', 'cn=Sales\\2C EMEA,ou=groups,dc=example,dc=org'],
      ['cn=Sales\\, EMEA,ou=groups,dc=example,dc=org', 'CN = sales\\2c  emea , OU=Groups,DC=example,DC=org'],
      ['cn=R\\+D,dc=x', 'cn=R\\2BD,dc=x'],
      ['cn=Jos\\C3\\A9,dc=x', 'cn=JOSÉ,dc=x'],
      ['cn=a+uid=b,dc=x', 'UID=B + cn=A,dc=x'],
      ['cn=back\\\\slash,dc=x', 'cn=back\\5Cslash,dc=x'],
      ['cn=STRASSE,dc=x', 'cn=straße,dc=x'],
    ];
    for (const [a, b] of same) assert.equal(canonicalDn(a), canonicalDn(b), `${a} = ${b}`);
    const different = [
      ['cn=R\\+D,dc=x', 'cn=R+D,dc=x'],
      ['cn=Sales\\, EMEA,dc=x', 'cn=Sales,cn=EMEA,dc=x'],
      ['cn=a,ou=b', 'ou=b,cn=a'],
      ['cn=jose,dc=x', 'cn=josé,dc=x'],
    ];
    for (const [a, b] of different) assert.notEqual(canonicalDn(a), canonicalDn(b), `${a} ≠ ${b}`);
    for (const bad of ['cn=admins,,dc=x', 'cn=x\\', 'cn=\\C3,dc=x', '=x', 'cn=']) assert.equal(canonicalDn(bad), undefined, bad);
  });

  test('an escaped group DN matches the directory spelling, in permit, deny and not rules', () => {
    const smith: User = { id: 's', username: 'smith', groups: ['Sales, EMEA', 'R+D'], groupDns: ['cn=Sales\\2C EMEA,ou=groups,dc=example,dc=org', 'cn=R\\2BD,ou=groups,dc=example,dc=org'], attributes: {} };
    assert.ok(inGroup(smith, 'cn=Sales\\, EMEA,ou=groups,dc=example,dc=org'));
    assert.ok(inGroup(smith, 'Sales, EMEA'), 'a plain name with a comma');
    assert.ok(inGroup(smith, 'SALES, emea'), 'without case');
    const denyRd = policy({ when: { groups: ['cn=R\\+D,ou=groups,dc=example,dc=org'] }, then: { effect: 'deny', message: 'no' } }, { then: { effect: 'permit' } });
    assert.equal(decide(facts(denyRd, { user: smith }), networks).effect, 'deny', 'a deny rule on an escaped DN does not fail open');
    const notSales = policy({ when: { not: { groups: ['cn=Sales\\, EMEA,ou=groups,dc=example,dc=org'] } }, then: { effect: 'deny', message: 'no' } }, { then: { effect: 'permit' } });
    assert.equal(decide(facts(notSales, { user: smith }), networks).effect, 'allow');
    assert.equal(decide(facts(notSales, { user: { ...smith, groupDns: [] } }), networks).effect, 'deny');
  });

  test('groups by name or DN; DNs compare normalised with memberOf', () => {
    assert.ok(inGroup(alice, 'ENGINEERS'));
    assert.ok(inGroup(alice, 'cn=admins, ou=groups, dc=corp, dc=example'));
    assert.ok(!inGroup(alice, 'sales'));
  });

  test('a group DN matches only that group, never another group of the same name', () => {
    const ldapUser: User = { id: 'l', username: 'lena', groups: ['admins', 'staff'], groupDns: ['cn=admins,ou=lab,dc=example,dc=org', 'cn=staff,ou=groups,dc=example,dc=org'], attributes: {} };
    assert.ok(inGroup(ldapUser, 'CN=Staff, OU=Groups, DC=example, DC=org'), "a resolved group's DN, compared normalised");
    assert.ok(!inGroup(ldapUser, 'cn=admins,ou=it,dc=example,dc=org'), "the lab's admins are not IT's admins");
    assert.ok(!inGroup(alice, 'cn=staff,ou=elsewhere,dc=x'), 'a local group name does not stand for a DN');
    assert.ok(inGroup(ldapUser, 'admins'), 'a plain name matches a group of that name anywhere');
  });

  test('attribute conditions read only the user\'s own attributes', () => {
    const p = policy({ when: { attributes: { constructor: ['*'] } }, then: { effect: 'permit' } });
    assert.equal(decide(facts(p), networks).effect, 'deny', 'no attribute named constructor: the rule does not hold (and nothing throws)');
  });

  test('networks: names, *, IPv4 and IPv6 CIDRs, IPv4-mapped IPv6, garbage is outside', () => {
    assert.ok(ipInNetworks('192.0.2.9', ['office'], networks));
    assert.ok(ipInNetworks('::ffff:192.0.2.9', ['office'], networks));
    const mapped = compileNetworks({ lab: ['::ffff:198.51.100.0/120'] });
    assert.ok(ipInNetworks('198.51.100.7', ['lab'], mapped), 'a range written in the IPv4-mapped form holds IPv4 clients');
    assert.ok(ipInNetworks('::ffff:198.51.100.7', ['lab'], mapped));
    assert.ok(!ipInNetworks('198.51.101.7', ['lab'], mapped));
    assert.ok(ipInNetworks('2001:db8:aa::1', ['*'], networks));
    assert.ok(!ipInNetworks('2001:db8:bb::1', ['*'], networks));
    assert.ok(ipInNetworks('203.0.113.200', ['203.0.113.128/25'], networks));
    assert.ok(!ipInNetworks('unknown', ['*', '0.0.0.0/0'], networks));
    assert.ok(!ipInNetworks('192.0.2.9', ['vpn'], networks), 'an IPv4 address is never inside an IPv6 range');
  });

  test('IPv4-compatible IPv6 (::10.1.2.3) is not IPv4: only the mapped form ::ffff:a.b.c.d is', () => {
    const office = compileNetworks({ office: ['10.0.0.0/8'] });
    assert.ok(!ipInNetworks('::10.1.2.3', ['office'], office));
    assert.ok(!ipInNetworks('::a01:203', ['office'], office));
    assert.ok(!ipInNetworks('::10.1.2.3', ['10.0.0.0/8'], office));
    assert.ok(ipInNetworks('::ffff:10.1.2.3', ['office'], office));
    assert.ok(ipInNetworks('::10.1.2.3', ['::a00:0/104'], office), 'it is inside an IPv6 range holding it');
    assert.equal(parseCidr('::10.0.0.0/104')?.join('/'), '::a00:0/104', 'a range in the compatible form stays IPv6');
    assert.equal(parseCidr('::ffff:10.0.0.0/104')?.join('/'), '10.0.0.0/8');
    assert.equal(parseIpOrCidr('::10.1.2.3')?.join('/'), '::a01:203/128');
  });
});

describe('custom rules', () => {
  const rules = policy(
    { name: 'external accounts', when: { username: ['ext-*'] }, then: { effect: 'deny', message: 'External accounts cannot use this.' } },
    { name: 'admins need FIDO', when: { attributes: { memberOf: ['cn=admins,*'] } }, then: { effect: 'require-mfa', methods: ['webauthn'] } },
    { name: 'office', when: { networks: ['office'] }, then: { effect: 'permit' } },
    { name: 'not enrolled yet', when: { mfaEnrolled: false }, then: { effect: 'require-mfa', methods: ['totp'] } },
    { name: 'German research outside', when: { attributes: { c: ['de'], department: ['res*'] }, not: { networks: ['*'] } }, then: { effect: 'require-mfa', maxAgeSec: 60 } },
  );

  test('first match decides, and the decision names the rule', () => {
    const ext = decide(facts(rules, { user: { ...alice, username: 'ext-bob' } }), networks);
    assert.deepEqual([ext.effect, ext.rule], ['deny', { index: 0, name: 'external accounts' }]);
    assert.equal(ext.effect === 'deny' && ext.message, 'External accounts cannot use this.');
    const admin = decide(facts(rules, { network: { ip: '192.0.2.1' } }), networks);
    assert.equal(admin.rule.name, 'admins need FIDO', 'rule order wins over the office rule');
  });

  test('only the listed methods count: a TOTP session does not satisfy "FIDO only"', () => {
    const decision = decide(facts(rules, { factors: withOtp }), networks);
    assert.equal(decision.effect, 'step-up');
    assert.deepEqual(decision.effect === 'step-up' && decision.anyOf, ['webauthn']);
    const tx = { id: 't', createdAt: NOW, request: { protocol: 'saml' as const, rpId: 'x', rpName: 'X', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false } };
    const session = { id: 's', user: alice, createdAt: NOW, lastSeenAt: NOW, authTime: NOW, factors: withOtp, participants: [] };
    const step = nextStep(tx, session, { now: NOW, policy: rules, networks, ip: '198.51.100.1', enrolledMethods: ['totp'], enrollableMethods: ['totp'] });
    assert.equal(step.kind, 'denied', 'no usable and no self-enrollable method: a clear refusal, not a bypass');
  });

  test('attribute AND, not(networks), mfaEnrolled and maxAgeSec', () => {
    const carol: User = { ...alice, username: 'carol', attributes: { c: ['DE'], department: ['Research'] } };
    assert.equal(decide(facts(rules, { user: carol, enrolledMethods: [] }), networks).rule.name, 'not enrolled yet');
    const outside = decide(facts(rules, { user: carol, factors: withOtp }), networks);
    assert.deepEqual([outside.rule.name, outside.effect], ['German research outside', 'allow']);
    const stale = decide(facts(rules, { user: carol, factors: withOtp, now: NOW + 60_000 }), networks);
    assert.equal(stale.effect, 'step-up', 'the OTP factor is older than the 60 s window');
    const inside = decide(facts(rules, { user: carol, network: { ip: '2001:db8:aa::5' } }), networks);
    assert.deepEqual([inside.effect, inside.rule.index], ['deny', -1], 'no rule matched: deny');
  });

  test('the requested condition sees acr_values / RequestedAuthnContext', () => {
    const p = policy({ when: { requested: ['mfa'] }, then: { effect: 'deny', message: 'no' } }, { then: { effect: 'permit' } });
    assert.equal(decide(facts(p, { requested: { values: [ACR.mfa], comparison: 'exact' } }), networks).effect, 'deny');
    assert.equal(decide(facts(p), networks).effect, 'allow');
  });
});

describe('requested authentication context', () => {
  const permit = policy({ then: { effect: 'permit' } });
  const mfa = policy({ then: { effect: 'require-mfa' } });
  const PASSWORD_CLASS = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password';
  const req = (values: string[], comparison: RequestedAuthnContext['comparison'], essential?: boolean): RequestedAuthnContext => ({ values, comparison, essential });
  const table: Array<[string, Policy, Partial<DecisionFacts>, string, string?]> = [
    ['SAML exact PPT, password session', permit, { requested: req([ACR.password], 'exact') }, 'allow', ACR.password],
    ['SAML exact PPT, MFA session reports PPT', permit, { requested: req([ACR.password], 'exact'), factors: withOtp }, 'allow', ACR.password],
    ['SAML minimum PPT, MFA session reports MFA', permit, { requested: req([ACR.password], 'minimum'), factors: withOtp }, 'allow', ACR.mfa],
    ['SAML minimum MFA steps up', permit, { requested: req([ACR.mfa], 'minimum') }, 'step-up', ACR.mfa],
    ['SAML better than PPT steps up', permit, { requested: req([ACR.password], 'better') }, 'step-up', ACR.mfa],
    ['SAML better than MFA is impossible', permit, { requested: req([ACR.mfa], 'better') }, 'unmet'],
    ['SAML maximum PPT under an MFA policy is impossible', mfa, { requested: req([ACR.password], 'maximum') }, 'unmet'],
    ['SAML maximum MFA, password policy', permit, { requested: req([ACR.mfa], 'maximum') }, 'allow', ACR.password],
    ['SAML exact PPT under an MFA policy is impossible', mfa, { requested: req([ACR.password], 'exact') }, 'unmet'],
    ['SAML minimum Password (clear-text password, weaker than every level): PPT meets it', permit, { requested: req([PASSWORD_CLASS], 'minimum') }, 'allow', ACR.password],
    ['SAML better than Password: PPT is better', permit, { requested: req([PASSWORD_CLASS], 'better') }, 'allow', ACR.password],
    ['SAML exact Password is never given', permit, { requested: req([PASSWORD_CLASS], 'exact') }, 'unmet'],
    ['SAML maximum Password is never given', permit, { requested: req([PASSWORD_CLASS], 'maximum') }, 'unmet'],
    ['SAML exact Password or MFA: only MFA is listed and given', permit, { requested: req([PASSWORD_CLASS, ACR.mfa], 'exact') }, 'step-up', ACR.mfa],
    ['SAML unknown class only', permit, { requested: req(['urn:example:smartcard'], 'exact') }, 'unmet'],
    ['SAML unknown plus known: the known one counts', permit, { requested: req(['urn:example:smartcard', ACR.mfa], 'exact') }, 'step-up', ACR.mfa],
    ['OIDC acr_values mfa steps up', permit, { protocol: 'oidc', requested: req([ACR.mfa], 'exact', false) }, 'step-up', ACR.mfa],
    ['OIDC acr_values unknown are ignored', permit, { protocol: 'oidc', requested: req(['gold'], 'exact', false) }, 'allow', ACR.password],
    ['OIDC acr_values password under an MFA policy are ignored', mfa, { protocol: 'oidc', requested: req([ACR.password], 'exact', false), factors: withOtp }, 'allow', ACR.mfa],
    ['OIDC essential unknown acr is unmet', permit, { protocol: 'oidc', requested: req(['gold'], 'exact', true) }, 'unmet'],
    ['OIDC essential password under an MFA policy is unmet', mfa, { protocol: 'oidc', requested: req([ACR.password], 'exact', true) }, 'unmet'],
  ];
  for (const [label, p, overrides, effect, acr] of table) {
    test(label, () => {
      const decision = decide(facts(p, overrides), networks);
      assert.equal(decision.effect, effect);
      if (acr) assert.equal('acr' in decision && decision.acr, acr);
    });
  }

  test('passive requests never show a page: step-up becomes interaction_required, deny a plain error', () => {
    const tx = { id: 't', createdAt: NOW, request: { protocol: 'oidc' as const, rpId: 'x', rpName: 'X', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: true } };
    const session = { id: 's', user: alice, createdAt: NOW, lastSeenAt: NOW, authTime: NOW, factors: pwd, participants: [] };
    const base = { now: NOW, networks, ip: '198.51.100.1', enrolledMethods: ['totp' as const], enrollableMethods: ['totp' as const] };
    const stepUp = nextStep(tx, session, { ...base, policy: mfa });
    assert.ok(stepUp.kind === 'complete' && !stepUp.result.ok && stepUp.result.error === 'interaction_required');
    const denied = nextStep(tx, session, { ...base, policy: policy({ then: { effect: 'deny' } }) });
    assert.ok(denied.kind === 'complete' && !denied.result.ok && denied.result.error === 'access_denied');
  });
});

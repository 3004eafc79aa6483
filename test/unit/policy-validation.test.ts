import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyStore, type PolicyRecord } from '../../src/policy/policy-store.ts';
import { randomBytes } from 'node:crypto';
import type { Collection, Store } from '../../src/store/store.ts';
import { AVAILABLE_MFA_METHODS, validatePolicyDefinition } from '../../src/policy/policy-validation.ts';
import { MFA_METHOD_IDS } from '../../src/policy/levels.ts';
import { buildMfa } from '../../src/mfa/build-mfa.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { parseConfig } from '../../src/config/load.ts';

function memoryCollection(): Collection<PolicyRecord> & { size(): number } {
  const items = new Map<string, PolicyRecord>();
  return {
    get: async (id) => structuredClone(items.get(id)),
    lookup: async () => assert.fail('policies are found by id'),
    list: async () => [...items.values()],
    put: async (item) => void items.set(item.id, structuredClone(item)),
    update: async () => assert.fail('policies are saved whole'),
    remove: async (id) => items.delete(id),
    size: () => items.size,
  };
}

function store() {
  const records = memoryCollection();
  return { records, policies: new PolicyStore(records, { defaultPolicy: 'permit-everyone', networkNames: ['office'] }, { now: () => 0 }) };
}

const rule = (when: unknown, then: unknown = { effect: 'permit' }) => ({ name: 'p', rules: [{ when, then }] });

describe('policy validation: clear errors, nothing saved', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['unknown group syntax', rule({ groups: ['cn=admins,,dc=x'] }), /rules\[0\]\.when\.groups\[0\]: "cn=admins,,dc=x" looks like a DN but is not one/],
    ['wildcard in a group', rule({ groups: ['admin*'] }), /"admin\*" has a wildcard, which group conditions do not support; use an attribute pattern on memberOf instead/],
    ['a DN escape in a plain group name', rule({ groups: ['Sales\\, EMEA'] }), /is a group name with a backslash: a name is written as it is \(Sales, EMEA\), escapes belong in DNs only/],
    ['a DN with a broken escape', rule({ groups: ['cn=Sales\\C3,dc=x'] }), /looks like a DN but is not one \(expected attr=value,attr=value… with RFC 4514 escapes/],
    ['an attribute named __proto__ (an object lookup would read the prototype)', JSON.parse('{"name":"p","rules":[{"when":{"attributes":{"__proto__":["*"]}},"then":{"effect":"permit"}}]}'), /rules\[0\]\.when\.attributes: the key "__proto__" is not allowed/],
    ['a condition on no attribute (it would hold for everyone)', rule({ attributes: {} }), /names no attribute/],
    ['__proto__ beside another attribute (it would be dropped, widening the rule)', JSON.parse('{"name":"p","rules":[{"when":{"attributes":{"__proto__":["secret"],"department":["*"]}},"then":{"effect":"permit"}}]}'), /rules\[0\]\.when\.attributes: the key "__proto__" is not allowed/],
    ['bad CIDR', rule({ networks: ['10.0.0.0/33'] }), /rules\[0\]\.when\.networks\[0\]: "10\.0\.0\.0\/33" is not a valid IPv4 or IPv6 CIDR/],
    ['short IPv4 CIDR', rule({ networks: ['10.0/8'] }), /is not a valid IPv4 or IPv6 CIDR/],
    ['unknown network name', rule({ networks: ['branch'] }), /unknown trusted network "branch" \(configured: office/],
    ['unknown method', rule(undefined, { effect: 'require-mfa', methods: ['sms'] }), /rules\[0\]\.then\.methods\[0\]: unknown method "sms" \(available in this installation: totp\)$/],
    [
      'a method this installation does not have, in a named rule',
      { name: 'p', rules: [{ name: 'admins need FIDO', then: { effect: 'require-mfa', methods: ['totp', 'webauthn'] } }] },
      /^rules\[0\]\.then\.methods\[1\]: rule "admins need FIDO" asks for "webauthn", which this installation does not have \(available: totp\)$/,
    ],
    ['a method this installation does not have, in an unnamed rule', { name: 'p', rules: [{ then: { effect: 'permit' } }, { then: { effect: 'require-mfa', methods: ['push'] } }] }, /^rules\[1\]\.then\.methods\[0\]: rule #2 asks for "push"/],
    ['a method this installation does not have, in a template', { name: 't', template: 'permit-everyone-require-mfa', parameters: { methods: ['webauthn'] } }, /^parameters\.methods\[0\]: template permit-everyone-require-mfa asks for "webauthn", which this installation does not have \(available: totp\)$/],
    ['unknown effect', rule(undefined, { effect: 'allow' }), /rules\[0\]\.then\.effect/],
    ['typo in a condition', rule({ grups: ['staff'] }), /Unrecognized key.*grups/],
    ['unknown acr', rule({ requested: ['gold'] }), /"gold" is not a known authentication context/],
    ['nested not is checked too', rule({ not: { networks: ['1.2.3.4/99'] } }), /rules\[0\]\.when\.not\.networks\[0\]/],
    ['template without its groups', { name: 't', template: 'permit-specific-groups' }, /parameters\.groups: template permit-specific-groups needs at least one group/],
    ['unknown template', { name: 't', template: 'permit-friends' }, /template: unknown template "permit-friends"/],
    ['built-in name', { name: 'deny-everyone', rules: [{ then: { effect: 'permit' } }] }, /built-in policy and cannot be redefined/],
    ['no rules', { name: 'empty', rules: [] }, /at least one rule/],
    ['bad name', { name: 'has space', rules: [{ then: { effect: 'permit' } }] }, /name:/],
  ];
  for (const [label, input, message] of cases) {
    test(label, async () => {
      const { records, policies } = store();
      const result = await policies.save(input);
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.errors.join('\n') : '', message);
      assert.equal(records.size(), 0, 'nothing saved');
    });
  }

  test('every problem is reported at once', async () => {
    const result = await store().policies.save(rule({ groups: ['a*b'], networks: ['nowhere', '300.1.1.1/8'] }));
    assert.equal(!result.ok && result.errors.length, 3);
  });

  test('a valid policy is saved and resolves; a missing one denies everyone', async () => {
    const { policies } = store();
    const saved = await policies.save({ name: 'admins', rules: [{ when: { groups: ['cn=admins,ou=groups,dc=example,dc=org'], networks: ['office', '2001:db8::/32', '*'] }, then: { effect: 'require-mfa', methods: ['totp'], maxAgeSec: 3600 } }] });
    assert.equal(saved.ok, true, JSON.stringify(saved));
    assert.equal((await policies.resolve('admins')).rules.length, 1);
    const missing = await policies.resolve('gone');
    assert.equal(missing.source, 'missing');
    assert.equal(missing.rules[0]!.then.effect, 'deny');
    assert.equal((await policies.resolve(undefined)).name, 'permit-everyone');
    assert.equal(await policies.remove('permit-everyone'), 'built-in');
    assert.equal(await policies.remove('admins'), 'removed');
  });

  test('the methods policies may name are the ones the MFA registry has', () => {
    const { registry } = buildMfa(parseConfig({}), { collection: () => ({}), kv: {} } as unknown as Store, new SecretBox(randomBytes(32)), { now: () => 0 });
    assert.deepEqual(MFA_METHOD_IDS.filter((method) => registry.get(method)), AVAILABLE_MFA_METHODS);
  });

  test('configuration: bad trusted-network CIDRs and TOTP settings are start-up errors with paths', () => {
    assert.throws(
      () => parseConfig({ trustedNetworks: { office: ['10.0.0.0/8', '10.1/16'] }, mfa: { totp: { digits: 5, clockSkewSeconds: 900 } } }),
      (error: Error & { issues?: string[] }) => {
        const text = error.issues!.join('\n');
        return /trustedNetworks\.office\.1: must be an IPv4 or IPv6 CIDR/.test(text) && /mfa\.totp\.digits/.test(text) && /mfa\.totp\.clockSkewSeconds/.test(text);
      },
    );
  });
});

test('group names may have commas, and DNs RFC 4514 escapes and multi-valued RDNs', async () => {
  const groups = ['Sales, EMEA', 'cn=Sales\\, EMEA,ou=groups,dc=example,dc=org', 'cn=Sales\\2C EMEA,ou=groups,dc=example,dc=org', 'cn=R\\+D+uid=rd,ou=groups,dc=example,dc=org'];
  const saved = await store().policies.save(rule({ groups }));
  assert.ok(saved.ok, JSON.stringify(saved));
});

test('a name that is not an attribute name is refused, and named', async () => {
  const { policies } = store();
  const refused = await policies.save(rule({ attributes: { 'bad name!': ['*'] } }));
  assert.match(!refused.ok ? refused.errors.join('\n') : '', /is not an attribute name/);
});

test('a group DN of one part (cn=staff) names no group: refused when written, imported with a warning', async () => {
  const { policies, records } = store();
  const denyStaff = { name: 'p', rules: [{ when: { groups: ['cn=staff'] }, then: { effect: 'deny' } }, { then: { effect: 'permit' } }] };
  const refused = await policies.save(denyStaff);
  assert.match(!refused.ok ? refused.errors.join('\n') : 'saved', /^rules\[0\]\.when\.groups\[0\]: "cn=staff" is a DN of one part, which names no directory group, so the rule could never match one: write the group's whole DN.*use an attributes condition/);
  assert.equal(records.size(), 0, 'nothing saved');
  const imported = validatePolicyDefinition(denyStaff, { networkNames: [], reservedNames: [] }, { lint: 'warn' });
  assert.ok(imported.ok && imported.warnings.some((warning) => warning.includes('"cn=staff" is a DN of one part')), JSON.stringify(imported));
  for (const reference of ['staff', 'cn=staff,ou=groups,dc=example,dc=org', 'cn=R\\+D+uid=rd,ou=groups']) {
    const saved = await policies.save({ name: 'p', rules: [{ when: { groups: [reference] }, then: { effect: 'deny' } }, { then: { effect: 'permit' } }] });
    assert.ok(saved.ok, `${reference}: ${JSON.stringify(saved)}`);
  }
  const template = await policies.save({ name: 't', template: 'permit-specific-groups', parameters: { groups: ['ou=staff'] } });
  assert.match(!template.ok ? template.errors.join('\n') : 'saved', /parameters\.groups\[0\]: "ou=staff" is a DN of one part/);
});

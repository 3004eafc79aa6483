import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyStore, type PolicyRecord } from '../../src/policy/policy-store.ts';
import type { Collection } from '../../src/store/store.ts';
import { BUILT_IN_POLICIES, TEMPLATE_PARAMETERS, expandTemplate } from '../../src/policy/templates.ts';
import { TEMPLATE_IDS, type TemplateParameters } from '../../src/policy/policy-types.ts';
import { validatePolicyDefinition } from '../../src/policy/policy-validation.ts';

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

async function refused(input: unknown): Promise<string> {
  const { records, policies } = store();
  const result = await policies.save(input);
  assert.equal(result.ok, false, 'refused');
  assert.equal(records.size(), 0, 'nothing saved');
  return result.ok ? '' : result.errors.join('\n');
}

async function saved(input: unknown): Promise<void> {
  const result = await store().policies.save(input);
  assert.ok(result.ok, JSON.stringify(result).slice(0, 500));
}

/** One value of every parameter a template may read. */
const EVERY_PARAMETER: Required<TemplateParameters> = { groups: ['staff'], networks: ['office'], methods: ['totp'], maxAgeSec: 60, message: 'Staff only.' };

function only(parameters: readonly (keyof TemplateParameters)[]): TemplateParameters {
  return Object.fromEntries(parameters.map((parameter) => [parameter, EVERY_PARAMETER[parameter]]));
}

const nested = (depth: number, inner: unknown) => JSON.parse(`${'{"not":'.repeat(depth)}${JSON.stringify(inner)}${'}'.repeat(depth)}`);

describe('a template takes exactly the parameters it reads', () => {
  test('the table of parameters is what expandTemplate reads: each one listed changes the rules, each other one does not', () => {
    for (const template of TEMPLATE_IDS) {
      const bare = JSON.stringify(expandTemplate(template, {}));
      for (const [parameter, value] of Object.entries(EVERY_PARAMETER)) {
        const reads = JSON.stringify(expandTemplate(template, { [parameter]: value })) !== bare;
        assert.equal(TEMPLATE_PARAMETERS[template].includes(parameter as keyof TemplateParameters), reads, `${template} ${reads ? 'reads' : 'ignores'} ${parameter}`);
      }
    }
  });

  test('the tester\'s templates with a parameter they ignore are refused, naming it, the template and the one that takes it', async () => {
    assert.match(
      await refused({ name: 'v-1', template: 'permit-everyone', parameters: { groups: ['staff'], message: 'Staff only' } }),
      /^parameters\.groups: template permit-everyone takes no groups, it would be ignored \(its parameters: none\); use permit-specific-groups or permit-everyone-require-mfa-for-groups, or write rules\nparameters\.message: template permit-everyone takes no message/,
    );
    assert.equal(
      await refused({ name: 'v-2', template: 'permit-specific-groups', parameters: { groups: ['staff'], networks: ['office'] } }),
      'parameters.networks: template permit-specific-groups takes no networks, it would be ignored (its parameters: groups, message); use permit-everyone-require-mfa-outside-trusted-networks, or write rules',
    );
    assert.match(await refused({ name: 'v-3', template: 'permit-everyone-require-mfa-for-groups', parameters: { groups: ['staff'], networks: ['office'] } }), /^parameters\.networks: template permit-everyone-require-mfa-for-groups takes no networks/);
    assert.match(await refused({ name: 'v-4', template: 'deny-everyone', parameters: { maxAgeSec: 5 } }), /^parameters\.maxAgeSec: template deny-everyone takes no maxAgeSec, it would be ignored \(its parameters: message\); use permit-everyone-require-mfa or /);
  });

  test('every template is refused with any parameter it ignores, and saved with all those it reads', async () => {
    for (const template of TEMPLATE_IDS) {
      await saved({ name: 't', template, parameters: only(TEMPLATE_PARAMETERS[template]) });
      for (const parameter of Object.keys(EVERY_PARAMETER) as (keyof TemplateParameters)[]) {
        if (TEMPLATE_PARAMETERS[template].includes(parameter)) continue;
        assert.match(await refused({ name: 't', template, parameters: { ...only(TEMPLATE_PARAMETERS[template]), [parameter]: EVERY_PARAMETER[parameter] } }), new RegExp(`^parameters\\.${parameter}: template ${template} takes no ${parameter}`));
      }
    }
  });

  test('the built-in policies pass the same validation', async () => {
    for (const policy of BUILT_IN_POLICIES) await saved({ name: `copy-of-${policy.name}`, rules: policy.rules });
  });
});

describe('rules that could never match', () => {
  test('"not" of an empty condition holds for no one', async () => {
    assert.match(await refused({ name: 'v-7', rules: [{ when: { not: {} }, then: { effect: 'permit' } }] }), /^rules\[0\]\.when\.not: is empty; an empty condition holds for everyone, so its "not" holds for no one and the rule could never match$/);
    assert.match(await refused({ name: 'p', rules: [{ when: { groups: ['staff'], not: { not: {} } }, then: { effect: 'deny' } }, { then: { effect: 'permit' } }] }), /^rules\[0\]\.when\.not\.not: is empty/);
  });

  test('a rule after one without conditions is never reached: both are named', async () => {
    assert.equal(
      await refused({ name: 'v-6', rules: [{ then: { effect: 'permit' } }, { when: { groups: ['staff'] }, then: { effect: 'deny' } }] }),
      'rules[1]: rule #2 can never match: rule #1 before it has no conditions and decides for everyone',
    );
    assert.equal(
      await refused({ name: 'p', rules: [{ name: 'staff', when: { groups: ['staff'] }, then: { effect: 'permit' } }, { name: 'everyone else', when: {}, then: { effect: 'deny' } }, { name: 'admins', when: { groups: ['admins'] }, then: { effect: 'permit' } }, { then: { effect: 'permit' } }] }),
      'rules[2]: rule #3 "admins" can never match: rule #2 "everyone else" before it has no conditions and decides for everyone\nrules[3]: rule #4 can never match: rule #2 "everyone else" before it has no conditions and decides for everyone',
    );
  });

  test('an empty condition is still a rule for everyone, and a catch-all last is fine', async () => {
    await saved({ name: 'v-7b', rules: [{ when: {}, then: { effect: 'permit' } }] });
    await saved({ name: 'p', rules: [{ when: { not: { networks: ['office'] } }, then: { effect: 'require-mfa' } }, { then: { effect: 'permit' } }] });
  });
});

describe('rule names and descriptions are plain text', () => {
  test('a line break, an escape or a direction override is refused', async () => {
    assert.match(await refused({ name: 'v-12', rules: [{ name: 'x: when everyone → deny\n  MATCH #1 all good', then: { effect: 'permit' } }] }), /^rules\[0\]\.name: must not contain control or format characters \(line breaks, tabs, direction marks\)$/);
    assert.match(await refused({ name: 'p', rules: [{ name: 'red \u001b[31m', then: { effect: 'permit' } }] }), /^rules\[0\]\.name: must not contain control/);
    assert.match(await refused({ name: 'p', rules: [{ name: 'admins\u202eynomrep', then: { effect: 'permit' } }] }), /^rules\[0\]\.name: must not contain control/);
    assert.match(await refused({ name: 'p', description: 'one\u2028two', rules: [{ then: { effect: 'permit' } }] }), /^description: must not contain control/);
    assert.match(await refused({ name: 'p', description: 'tab\there', template: 'permit-everyone' }), /^description: must not contain control/);
  });

  test('letters of any script and symbols are fine', async () => {
    await saved({ name: 'p', description: 'Zugang für Vertrieb — 営業 ✓', rules: [{ name: 'Vertrieb (Köln) → MFA 🔒', then: { effect: 'require-mfa' } }] });
  });
});

describe('limits, with messages instead of a stack overflow', () => {
  test('"not" nests at most 32 deep', async () => {
    await saved({ name: 'p', rules: [{ when: nested(32, { attributes: { department: ['sales'] } }), then: { effect: 'deny' } }, { then: { effect: 'permit' } }] });
    assert.equal(await refused({ name: 'p', rules: [{ then: { effect: 'deny' } }, { when: nested(33, { username: ['x'] }), then: { effect: 'permit' } }] }), 'rules[1].when: "not" is nested more than 32 deep');
    for (const depth of [1000, 100_000]) assert.equal(await refused({ name: 'v-22', rules: [{ when: nested(depth, { username: ['x'] }), then: { effect: 'permit' } }] }), 'rules[0].when: "not" is nested more than 32 deep');
  });

  test('nesting anywhere else deeper than any valid policy is refused before it is walked', async () => {
    const deepList = JSON.parse(`${'['.repeat(100_000)}"staff"${']'.repeat(100_000)}`);
    assert.equal(await refused({ name: 'p', rules: [{ when: { groups: deepList }, then: { effect: 'permit' } }] }), '(policy): nested more than 38 levels deep, deeper than any valid policy');
    assert.match(await refused({ name: 'p', template: 'permit-specific-groups', parameters: { groups: deepList } }), /^\(policy\): nested more than 38 levels deep/);
  });

  test('at most 1000 rules', async () => {
    const rules = (count: number) => [...Array.from({ length: count - 1 }, (_, i) => ({ when: { username: [`user${i}`] }, then: { effect: 'deny' } })), { then: { effect: 'permit' } }];
    await saved({ name: 'p', rules: rules(1000) });
    assert.equal(await refused({ name: 'p', rules: rules(1001) }), 'rules: a policy has at most 1000 rules');
  });

  test('at most 1024 characters per pattern, in every kind of condition and template parameter', async () => {
    const long = `*${'a'.repeat(1023)}`;
    await saved({ name: 'p', rules: [{ when: { username: [long], attributes: { mail: [long] } }, then: { effect: 'deny' } }, { then: { effect: 'permit' } }] });
    const tooLong = `${long}b`;
    assert.equal(
      await refused({ name: 'p', rules: [{ when: { username: ['x', tooLong], attributes: { mail: [tooLong] }, groups: [tooLong], networks: [tooLong], requested: [tooLong] }, then: { effect: 'deny' } }, { then: { effect: 'permit' } }] }),
      ['groups[0]', 'attributes.mail[0]', 'username[1]', 'networks[0]', 'requested[0]'].map((path) => `rules[0].when.${path}: longer than 1024 characters`).join('\n'),
    );
    assert.equal(await refused({ name: 'p', template: 'permit-specific-groups', parameters: { groups: [tooLong] } }), 'parameters.groups[0]: longer than 1024 characters');
  });
});

test('a rule name with control characters never reaches a message raw, when refused or when imported with a warning', () => {
  const name = 'a\u001b[2J\nImported 0 policies';
  const definition = { name: 'forged', rules: [{ name, then: { effect: 'permit' } }, { name: 'x\u001b]0;pwned\u0007', when: { groups: ['staff'] }, then: { effect: 'require-mfa', methods: ['webauthn'] } }] };
  const context = { networkNames: [], reservedNames: [] };
  const refused = validatePolicyDefinition(definition, context);
  const imported = validatePolicyDefinition(definition, context, { lint: 'warn' });
  const messages = [...(refused.ok ? [] : refused.errors), ...(imported.ok ? imported.warnings : imported.errors)];
  assert.ok(messages.length > 0);
  for (const message of messages) assert.doesNotMatch(message, /[\u0000-\u001f\u007f]/, message);
});

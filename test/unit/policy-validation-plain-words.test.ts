import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePolicyDefinition } from '../../src/policy/policy-validation.ts';

/**
 * Issue 3: policies are validated when saved, with a clear error. The limits and choices the schema
 * library checks on its own read in plain words, like the configuration's, not in its notation.
 */

const errorsOf = (definition: unknown): string[] => {
  const result = validatePolicyDefinition(definition, { networkNames: ['office'], reservedNames: [] });
  assert.ok(!result.ok, 'refused');
  return result.errors;
};

test('a freshness window of 0 or less, an unknown effect and a template without groups are refused in plain words', () => {
  assert.deepEqual(errorsOf({ name: 'p', rules: [{ then: { effect: 'require-mfa', maxAgeSec: -5 } }] }), ['rules[0].then.maxAgeSec: must be more than 0']);
  assert.deepEqual(errorsOf({ name: 'p', rules: [{ then: { effect: 'allow' } }] }), ['rules[0].then.effect: must be one of "permit", "deny", "require-mfa"']);
  assert.deepEqual(errorsOf({ name: 'p', template: 'permit-specific-groups', parameters: { groups: [] } }), ['parameters.groups: must list at least one entry']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { directoryDnKey } from '../../src/core/distinguished-names.ts';

test('white space inside a value ending in a hex escape is kept: cn=a \\41 is cn=a A, not cn=aA', () => {
  assert.equal(directoryDnKey('cn=a \\41,ou=g,dc=example,dc=org'), directoryDnKey('cn=a A,ou=g,dc=example,dc=org'));
  assert.notEqual(directoryDnKey('cn=a\t\\41,ou=g,dc=example,dc=org'), directoryDnKey('cn=aA,ou=g,dc=example,dc=org'));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRequestedSubject } from '../../src/saml/name-id.ts';
import { NAMEID_FORMAT } from '../../src/saml/constants.ts';
import type { User } from '../../src/core/types.ts';
import type { ServiceProviderRecord } from '../../src/saml/sp-types.ts';
import type { SecretBox } from '../../src/core/secret-box.ts';

// ü composed (U+00FC), as the directory keeps the name, and decomposed (u + U+0308), as some SPs send it.
const jurgen: User = { id: 'u-jurgen', username: 'j\u00fcrgen', email: 'j\u00fcrgen@example.org', groups: [], attributes: {} };
const sp = { id: 'https://sp.example/metadata', settings: { nameIdFormat: 'unspecified' } } as ServiceProviderRecord;
const box = {} as SecretBox;

test('a subject naming the user with decomposed letters names them, as the sign-in form it pre-fills signs them in', () => {
  for (const format of [undefined, NAMEID_FORMAT.unspecified]) {
    assert.equal(isRequestedSubject({ nameId: 'JU\u0308RGEN', format }, jurgen, sp, box), true, `username, ${format ?? 'no Format'}`);
    assert.equal(isRequestedSubject({ nameId: 'ju\u0308rgen@example.org', format }, jurgen, sp, box), true, `email, ${format ?? 'no Format'}`);
  }
  assert.equal(isRequestedSubject({ nameId: 'JU\u0308RGEN@EXAMPLE.ORG', format: NAMEID_FORMAT.email }, jurgen, sp, box), true, 'Format email');
});

test('composing letters makes no other name match: an accent still tells names apart', () => {
  assert.equal(isRequestedSubject({ nameId: 'jurgen' }, jurgen, sp, box), false);
  assert.equal(isRequestedSubject({ nameId: 'jurgen@example.org', format: NAMEID_FORMAT.email }, jurgen, sp, box), false);
});

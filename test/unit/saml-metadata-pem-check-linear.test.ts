import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpMetadata, MAX_METADATA_BYTES } from '../../src/saml/sp-metadata.ts';
import { samlSchemas } from '../../src/saml/schema-validator.ts';
import { AppError } from '../../src/core/errors.ts';

/**
 * The check for a PEM pasted into ds:X509Certificate runs on the raw text, before the schema: a file
 * fetched from an SP's metadata URL is whatever that server sends. Its tag's attributes were read up to
 * the next ">" wherever that was, so every "<X509Certificate" was followed to the end of the text:
 * 256 KB of them kept `sp add` busy for over 5 s before it refused the file.
 */
test('metadata of many unclosed X509Certificate tags is refused in linear time', () => {
  const xml = '<X509Certificate'.repeat(Math.floor(MAX_METADATA_BYTES / 16));
  const started = performance.now();
  assert.throws(() => parseSpMetadata(xml, samlSchemas(), Date.now()), AppError);
  const ms = performance.now() - started;
  assert.ok(ms < 1_000, `took ${Math.round(ms)} ms`);
});

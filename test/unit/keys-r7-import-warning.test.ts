import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settleImportedKeys, type ExportedKey } from '../../src/config-transfer/signing-key-transfer.ts';
import type { SigningKeyRecord } from '../../src/keys/signing-keys.ts';

test('an older export listing the signing key here as waiting: the warning names the key that goes on signing once, and only the other key of the file as held back', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  const key = (id: string, status: SigningKeyRecord['status']) => ({ id, alg: 'RS256' as const, status, createdAt: now - 86_400_000, sealedPrivateKeyPem: 'sealed' });
  const here: SigningKeyRecord[] = [{ ...key('rotated-in', 'active'), activatedAt: now - 3_600_000 }, { ...key('old', 'retired'), retiredAt: now - 3_600_000 }];
  // Exported before the rotation: the old key active, the rotated-in one still waiting.
  const fromFile = [key('old', 'active'), key('rotated-in', 'next')] as unknown as ExportedKey[];
  const { keys, warnings } = settleImportedKeys(here, fromFile, { activateImported: false, now });
  assert.deepEqual(keys.map((settled) => [settled.id, settled.status]), [['old', 'retired'], ['rotated-in', 'active']]);
  assert.ok(warnings.every((warning) => !/the file's [^.]*rotated-in/.test(warning)), warnings.join('\n'));
});

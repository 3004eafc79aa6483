import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import { otpauthUri } from '../../src/mfa/totp/totp-codes.ts';

const SHA1_30S = { digits: 6, periodSeconds: 30, algorithm: 'sha1' } as const;

/** The label as an authenticator app splits it (Key URI Format): issuer before the first unencoded ":", account after. */
function labelParts(uri: string): { issuer: string; account: string } {
  const label = /^otpauth:\/\/totp\/([^?]*)\?/.exec(uri)![1]!;
  const separator = label.indexOf(':');
  return { issuer: decodeURIComponent(label.slice(0, separator)), account: decodeURIComponent(label.slice(separator + 1)) };
}

describe('otpauth:// label: neither issuer nor account name may bring a ":" of its own', () => {
  test('mfa.totp.issuer with a colon is refused at start, naming the key', () => {
    assert.throws(() => parseConfig({ mfa: { totp: { issuer: 'Acme Corp: IT' } } }), (error: Error) => error instanceof ConfigError && /mfa\.totp\.issuer: must not contain ":"/.test(error.message));
    assert.equal(parseConfig({ mfa: { totp: { issuer: 'Acme Corp - IT' } } }).mfa.totp.issuer, 'Acme Corp - IT');
  });

  test('a colon in the username is percent-encoded, so the label has exactly one separator', () => {
    const uri = otpauthUri({ issuer: 'Acme Corp IT', label: 'DOMAIN\\bob:x', secret: 'JBSWY3DPEHPK3PXP', parameters: SHA1_30S });
    assert.match(uri, /^otpauth:\/\/totp\/Acme%20Corp%20IT:DOMAIN%5Cbob%3Ax\?/);
    assert.deepEqual(labelParts(uri), { issuer: 'Acme Corp IT', account: 'DOMAIN\\bob:x' });
  });

  test('the parameters an app reads: secret, issuer (encoded), algorithm, digits, period', () => {
    const uri = new URL(otpauthUri({ issuer: 'Acme & Co', label: 'jane.doe@corp.example', secret: 'JBSWY3DPEHPK3PXP', parameters: { digits: 8, periodSeconds: 60, algorithm: 'sha256' } }));
    assert.deepEqual(Object.fromEntries(uri.searchParams), { secret: 'JBSWY3DPEHPK3PXP', issuer: 'Acme & Co', algorithm: 'SHA256', digits: '8', period: '60' });
    assert.deepEqual(labelParts(uri.toString()), { issuer: 'Acme & Co', account: 'jane.doe@corp.example' });
  });
});

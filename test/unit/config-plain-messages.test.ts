import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../src/config/load.ts';

/**
 * README (Configuration): every problem is reported at once with the key that has it, in words such as
 * "server.port: must be a whole number from 1 to 65535". Limits the schema library checks on its own
 * read the same way, not in its notation ("Too small: expected number to be >0").
 */

function issuesOf(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('the configuration was accepted');
}

const LDAP = { kind: 'ldap', urls: ['ldap://ldap.example.org'], bind: { dn: 'cn=service,dc=example,dc=org', password: 'secret' }, users: { baseDn: 'ou=people,dc=example,dc=org' } };

test('limits, types and choices are named in plain words, each with its key', () => {
  const issues = issuesOf({
    regulation: { maxFailuresPerIp: 0, lockoutSeconds: 1.5, windowSeconds: '300' },
    mfa: { totp: { periodSeconds: 10, maxFailures: 11, algorithm: 'md5' } },
    messages: { helpdesk: 'x'.repeat(501) },
    trustedNetworks: { office: [] },
    directory: { ...LDAP, users: { baseDn: '', filter: '(uid=alice)' }, groups: { mode: 'nested' }, passwordRules: undefined },
    log: { level: 'verbose' },
  });
  const expected = [
    'regulation.maxFailuresPerIp: must be more than 0',
    'regulation.lockoutSeconds: must be a whole number',
    'regulation.windowSeconds: must be a number',
    'mfa.totp.periodSeconds: must be at least 15',
    'mfa.totp.maxFailures: must be at most 10',
    'mfa.totp.algorithm: must be one of "sha1", "sha256", "sha512"',
    'messages.helpdesk: must have at most 500 characters',
    'trustedNetworks.office: must list at least one entry',
    'directory.users.baseDn: must not be empty',
    'directory.users.filter: must contain "<username>"',
    'directory.groups.mode: must be one of "member", "memberOf"',
    'log.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"',
  ];
  for (const line of expected) assert.ok(issues.includes(line), `missing ${JSON.stringify(line)} in:\n${issues.join('\n')}`);
  assert.deepEqual(issues.filter((issue) => /Too small|Too big|Invalid (input|option|string)|expected (number|int|string|array)/.test(issue)), []);
});

test('a directory kind that does not exist lists the kinds', () => {
  assert.deepEqual(issuesOf({ directory: { kind: 'ad' } }), ['directory.kind: must be one of "local", "ldap"']);
});

test("the schema's own words are kept as they were", () => {
  assert.deepEqual(issuesOf({ mfa: { totp: { digits: 9 } } }), ['mfa.totp.digits: must be 6, 7 or 8']);
  assert.deepEqual(issuesOf({ server: { port: 70000 } }), ['server.port: must be a whole number from 1 to 65535']);
});

test('durations are capped at a year, so that an expiry time always fits a date (a huge session lifetime made every SAML sign-in a 500)', () => {
  assert.deepEqual(issuesOf({ session: { absoluteTimeoutHours: 1e12, idleTimeoutMinutes: 1e9 }, oidc: { refreshTokenTtlSeconds: 1e13 }, saml: { assertionLifetimeSeconds: 31_536_001 } }), [
    'session.idleTimeoutMinutes: must be at most 525600',
    'session.absoluteTimeoutHours: must be at most 8760',
    'saml.assertionLifetimeSeconds: must be at most 31536000',
    'oidc.refreshTokenTtlSeconds: must be at most 31536000',
  ]);
  assert.doesNotThrow(() => parseConfig({ session: { absoluteTimeoutHours: 8760 }, oidc: { refreshTokenTtlSeconds: 31_536_000 } }));
});

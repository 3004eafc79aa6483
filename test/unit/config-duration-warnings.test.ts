import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { warnOfContradictoryDurations } from '../../src/config/duration-warnings.ts';

/**
 * README "Configuration": lifetimes valid alone but contradicting one another (most often one given in
 * another unit) are warned of, naming the keys; the defaults and sensible settings are not.
 */
function warned(input: ConfigInput): Array<{ keys: unknown; message: string }> {
  const found: Array<{ keys: unknown; message: string }> = [];
  warnOfContradictoryDurations(parseConfig(input), { warn: (fields, message) => void found.push({ keys: fields.keys, message }) });
  return found;
}

test('an idle timeout not shorter than the absolute lifetime (seconds typed as minutes) is warned of, naming both keys', () => {
  const [warning, ...others] = warned({ session: { idleTimeoutMinutes: 1800, absoluteTimeoutHours: 10 } });
  assert.deepEqual(warning?.keys, ['session.idleTimeoutMinutes', 'session.absoluteTimeoutHours']);
  assert.match(warning!.message, /1800 minutes.*10 hours.*never signs out/);
  assert.deepEqual(others, []);
  assert.equal(warned({ session: { idleTimeoutMinutes: 600, absoluteTimeoutHours: 10 } }).length, 1, 'equal: the idle timeout never acts either');
});

test('a refresh token that does not outlive its access token is warned of, naming both keys', () => {
  const [warning] = warned({ oidc: { accessTokenTtlSeconds: 3_600_000, refreshTokenTtlSeconds: 1_209_600 } });
  assert.deepEqual(warning?.keys, ['oidc.refreshTokenTtlSeconds', 'oidc.accessTokenTtlSeconds']);
  assert.equal(warned({ oidc: { accessTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 3600 } }).length, 1, 'equal: the refresh token ends with the access token it would renew');
});

test('an authorization code living over 10 minutes is warned of', () => {
  const [warning] = warned({ oidc: { authorizationCodeTtlSeconds: 3600 } });
  assert.deepEqual(warning?.keys, ['oidc.authorizationCodeTtlSeconds']);
  assert.deepEqual(warned({ oidc: { authorizationCodeTtlSeconds: 600 } }), []);
});

test('the defaults and the shortest consistent lifetimes are not warned of', () => {
  assert.deepEqual(warned({}), []);
  assert.deepEqual(warned({ session: { idleTimeoutMinutes: 1, absoluteTimeoutHours: 0.05 }, oidc: { accessTokenTtlSeconds: 1, refreshTokenTtlSeconds: 2, authorizationCodeTtlSeconds: 1 } }), []);
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig, ConfigError } from '../../src/config/load.ts';
import { loadSecretKey } from '../../src/config/secret-key.ts';

describe('configuration', () => {
  test('embedded defaults: local directory, ./data, port 8080, public URL from the port', () => {
    const config = parseConfig({});
    assert.equal(config.directory.kind, 'local');
    assert.equal(config.dataDir, './data');
    assert.equal(config.server.port, 8080);
    assert.equal(config.server.publicUrl, 'http://localhost:8080');
    assert.ok(Object.isFrozen(config.server));
  });

  test('PORT and PUBLIC_URL from the environment', () => {
    const config = loadConfig({ PORT: '9443', PUBLIC_URL: 'https://idp.example.org/' });
    assert.equal(config.server.port, 9443);
    assert.equal(config.server.publicUrl, 'https://idp.example.org');
  });

  test('every problem is reported at once, each naming its key', () => {
    try {
      parseConfig({ server: { port: 'eighty', trustedProxies: ['10.0.0.0'] }, directory: { kind: 'ldap', urls: ['http://dc1'] }, session: { idleTimeoutMinutes: -1 } });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      const text = error.issues.join('\n');
      for (const key of ['server.port', 'server.trustedProxies.0', 'directory.urls.0', 'directory.bind', 'directory.users', 'session.idleTimeoutMinutes']) {
        assert.match(text, new RegExp(`^${key.replace(/\./g, '\\.')}:`, 'm'), `missing ${key} in\n${text}`);
      }
    }
  });

  test('a config file that is not JSON names the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepgate-config-'));
    try {
      await writeFile(join(dir, 'bad.json'), '{ nope');
      assert.throws(() => loadConfig({ STEPGATE_CONFIG: join(dir, 'bad.json') }), (error: Error) => error instanceof ConfigError && /bad\.json: cannot be read as JSON/.test(error.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('secret key: generated on a fresh data dir, a clear error when data exists without it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepgate-key-'));
    try {
      const config = parseConfig({ dataDir: dir });
      const first = loadSecretKey(config, { dataIsFresh: true });
      assert.equal(first.key.length, 32);
      assert.ok(first.generatedAt);
      assert.deepEqual(loadSecretKey(config, { dataIsFresh: false }).key, first.key);
      await rm(join(dir, 'secret.key'));
      assert.throws(() => loadSecretKey(config, { dataIsFresh: false }), /secretKey: the encryption key for stored secrets is missing/);
      assert.throws(() => loadSecretKey(parseConfig({ dataDir: dir, secretKey: 'dG9vLXNob3J0' }), { dataIsFresh: false }), /exactly 32 random bytes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

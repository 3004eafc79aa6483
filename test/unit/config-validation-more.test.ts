import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, parseConfig, ConfigError } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { trustedProxyTest } from '../../src/http/request-context.ts';

/** The issues of a refused configuration (fails the test when it is accepted). */
function issuesOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('the configuration was accepted');
}

function refused(input: unknown): string[] {
  return issuesOf(() => parseConfig(input));
}

async function withFile(content: string, work: (file: string) => void | Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-config-more-'));
  try {
    const file = join(dir, 'stepgate.config.json');
    await writeFile(file, content);
    await work(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const KEY = () => randomBytes(32).toString('base64');

describe('server.publicUrl: the root of a host name, nothing more', () => {
  test('a path is refused, naming the key and saying Stepgate is served at the root of its host name', () => {
    for (const publicUrl of ['https://idp.example.test/sso/', 'https://idp.example.test/sso', 'http://localhost:8080/a/b']) {
      const issues = refused({ server: { publicUrl } });
      assert.equal(issues.length, 1, `${publicUrl}: ${issues.join('; ')}`);
      assert.match(issues[0]!, /^server\.publicUrl: must have no path \(found "\/[^"]*"\): Stepgate must be served at the root of its host name/, publicUrl);
      assert.match(issues[0]!, /a reverse proxy can map a host name of its own to it/);
    }
  });

  test('the same from PUBLIC_URL', () => {
    assert.match(issuesOf(() => loadConfig({ PUBLIC_URL: 'https://idp.example.test/sso/' })).join('\n'), /^server\.publicUrl \(PUBLIC_URL\): must have no path/m);
  });

  test('a trailing slash alone is fine, and is not part of the issuer', () => {
    assert.equal(parseConfig({ server: { publicUrl: 'https://idp.example.test/' } }).server.publicUrl, 'https://idp.example.test');
    assert.equal(parseConfig({ server: { publicUrl: 'https://idp.example.test:8443' } }).server.publicUrl, 'https://idp.example.test:8443');
  });

  test('a path the URL parser would hide is refused too ("/./", "/%2e/", backslashes, a tab), checked on the text as typed', () => {
    for (const publicUrl of ['https://idp.example.test/./', 'https://idp.example.test/%2e/', 'https://idp.example.test\\', 'https:\\\\idp.example.test', 'https://idp.exa\tmple.test']) {
      assert.match(refused({ server: { publicUrl } }).join('\n'), /^server\.publicUrl: must have no path/, JSON.stringify(publicUrl));
    }
  });

  test('kept in the parser\'s own form: an upper-case scheme still makes cookies Secure and the issuer lower case; the default port and IDN hosts too', () => {
    assert.equal(parseConfig({ server: { publicUrl: 'HTTPS://IDP.EXAMPLE.TEST' } }).server.publicUrl, 'https://idp.example.test');
    assert.equal(parseConfig({ server: { publicUrl: 'https://idp.example.test:443/' } }).server.publicUrl, 'https://idp.example.test');
    assert.equal(parseConfig({ server: { publicUrl: 'https://bücher.example.test' } }).server.publicUrl, 'https://xn--bcher-kva.example.test');
    assert.equal(parseConfig({ server: { publicUrl: 'https://[::1]:8443' } }).server.publicUrl, 'https://[::1]:8443');
  });

  test('a query or fragment is refused, even an empty one the URL parser drops', () => {
    for (const publicUrl of ['https://idp.example.test/?', 'https://idp.example.test/#', 'https://idp.example.test?x=1', 'https://idp.example.test/#top']) {
      assert.deepEqual(refused({ server: { publicUrl } }), ['server.publicUrl: must have no query (?…) or fragment (#…)'], publicUrl);
    }
  });

  test('credentials, a password alone included, are refused', () => {
    assert.deepEqual(refused({ server: { publicUrl: 'https://:secret@idp.example.test' } }), ['server.publicUrl: must have no user name or password']);
  });

  test('not a URL: one issue, naming the key', () => {
    assert.deepEqual(refused({ server: { publicUrl: '/sso' } }), ['server.publicUrl: must be an absolute http:// or https:// URL, e.g. https://idp.example.org']);
  });
});

describe('server.host: an IP address or a host name', () => {
  test('an empty host (every interface, unasked) is refused, naming the key', () => {
    for (const host of ['', ' ', 'not a host', '[::1]', 'http://idp']) {
      const issues = refused({ server: { host } });
      assert.equal(issues.length, 1, JSON.stringify(host));
      assert.match(issues[0]!, /^server\.host: must be an IP address or a host name/, JSON.stringify(host));
    }
  });

  test('addresses and names are accepted', () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '::', '::1', 'fe80::1%lo', 'localhost', 'idp.example.org', 'idp-1.example.org.']) {
      assert.equal(parseConfig({ server: { host } }).server.host, host);
    }
  });
});

describe('saml.entityId: an absolute URI', () => {
  test('empty, relative or with spaces is refused, naming the key', () => {
    for (const entityId of ['', 'not a uri', 'idp.example.org', '/saml/metadata', 'https://idp.example.org/a b', `urn:${'x'.repeat(1100)}`]) {
      const issues = refused({ saml: { entityId } });
      assert.equal(issues.length, 1, entityId);
      assert.match(issues[0]!, /^saml\.entityId: must be an absolute URI/, entityId);
    }
  });

  test('URLs and URNs are accepted', () => {
    for (const entityId of ['https://idp.example.org/saml/metadata', 'urn:example:idp', 'http://idp.example.org']) {
      assert.equal(parseConfig({ saml: { entityId } }).saml.entityId, entityId);
    }
  });
});

describe('mfa.totp.digits: what authenticator apps show', () => {
  test('a count other than 6, 7 or 8 is refused, naming the key and the values allowed', () => {
    for (const digits of [5, 9, '6']) {
      assert.deepEqual(refused({ mfa: { totp: { digits } } }), ['mfa.totp.digits: must be 6, 7 or 8'], String(digits));
    }
    assert.equal(parseConfig({ mfa: { totp: { digits: 8 } } }).mfa.totp.digits, 8);
  });
});

describe('empty values are not "unset"', () => {
  test('dataDir, secretKey and secretKeyFile given as "" are refused, each naming its key', () => {
    const issues = refused({ dataDir: '', secretKeyFile: '' });
    assert.deepEqual(issues.map((issue) => issue.split(':')[0]), ['dataDir', 'secretKeyFile']);
    assert.match(refused({ secretKey: '' })[0]!, /^secretKey: must not be empty \(in the config file or STEPGATE_SECRET_KEY\)/);
    assert.match(refused({ dataDir: '  ' })[0]!, /^dataDir: must not be empty/);
  });

  test('STEPGATE_SECRET_KEY= and STEPGATE_SECRET_KEY_FILE= are refused, not taken for unset (a key would be generated inside the data directory)', () => {
    assert.match(issuesOf(() => loadConfig({ STEPGATE_SECRET_KEY: '' })).join('\n'), /^secretKey: must not be empty \(in the config file or STEPGATE_SECRET_KEY\)/m);
    assert.match(issuesOf(() => loadConfig({ STEPGATE_SECRET_KEY_FILE: '' })).join('\n'), /^secretKeyFile: must not be empty \(in the config file or STEPGATE_SECRET_KEY_FILE\)/m);
  });
});

describe('environment variables set but empty are refused, naming the variable', () => {
  test('STEPGATE_CONFIG= is not "no file": every default would apply unseen', () => {
    assert.deepEqual(issuesOf(() => loadConfig({ STEPGATE_CONFIG: '' })), ['STEPGATE_CONFIG is set but empty: name the configuration file, or unset it to use stepgate.config.json']);
    assert.deepEqual(issuesOf(() => loadConfig({ STEPGATE_CONFIG: ' ' })).length, 1);
  });

  test('STEPGATE_DATA_DIR=, PUBLIC_URL=, HOST= and LOG_LEVEL= are refused, each naming its key and its variable', () => {
    const cases: Array<[string, string]> = [
      ['STEPGATE_DATA_DIR', 'dataDir (STEPGATE_DATA_DIR): '],
      ['PUBLIC_URL', 'server.publicUrl (PUBLIC_URL): '],
      ['HOST', 'server.host (HOST): '],
      ['LOG_LEVEL', 'log.level (LOG_LEVEL): '],
    ];
    for (const [variable, start] of cases) {
      const issues = issuesOf(() => loadConfig({ [variable]: '' }));
      assert.equal(issues.length, 1, variable);
      assert.ok(issues[0]!.startsWith(start), issues[0]);
    }
  });

  test('a bad value from the environment names the variable; a good one applies', () => {
    assert.deepEqual(issuesOf(() => loadConfig({ PORT: 'abc' })), ['server.port (PORT): must be a whole number from 1 to 65535']);
    const config = loadConfig({ PORT: '8443', LOG_LEVEL: 'debug', HOST: '127.0.0.1' });
    assert.deepEqual([config.server.port, config.log.level, config.server.host], [8443, 'debug', '127.0.0.1']);
  });
});

describe('directory timeouts', () => {
  test('above 600000 ms is refused, naming the key (Node cuts a timer over 2^31-1 ms to 1 ms)', () => {
    const ldap = { kind: 'ldap', urls: ['ldap://127.0.0.1:389'], bind: { dn: 'cn=svc', password: 'x' }, users: { baseDn: 'dc=example,dc=org' } };
    for (const key of ['connectTimeoutMs', 'searchTimeoutMs']) {
      assert.deepEqual(refused({ directory: { ...ldap, [key]: 3_000_000_000 } }), [`directory.${key}: must be at most 600000 (10 minutes)`], key);
      assert.equal((parseConfig({ directory: { ...ldap, [key]: 600_000 } }).directory as Record<string, unknown>)[key], 600_000);
    }
  });
});

describe('the secret key: one source, and the environment wins over the file', () => {
  test('STEPGATE_SECRET_KEY_FILE wins over a secretKey in the file', async () => {
    await withFile(JSON.stringify({ secretKey: KEY() }), (file) => {
      const config = loadConfig({ STEPGATE_CONFIG: file, STEPGATE_SECRET_KEY_FILE: '/run/secrets/stepgate.key' });
      assert.equal(config.secretKeyFile, '/run/secrets/stepgate.key');
      assert.equal(config.secretKey, undefined);
    });
  });

  test('STEPGATE_SECRET_KEY wins over a secretKeyFile in the file', async () => {
    const key = KEY();
    await withFile(JSON.stringify({ secretKeyFile: '/etc/stepgate/key' }), (file) => {
      const config = loadConfig({ STEPGATE_CONFIG: file, STEPGATE_SECRET_KEY: key });
      assert.equal(config.secretKey, key);
      assert.equal(config.secretKeyFile, undefined);
    });
  });

  test('both set in one place is refused, naming both, with every other problem', async () => {
    const both = 'secretKeyFile: secretKey is set as well: set only one of secretKey (STEPGATE_SECRET_KEY) and secretKeyFile (STEPGATE_SECRET_KEY_FILE)';
    await withFile(JSON.stringify({ secretKey: KEY(), secretKeyFile: '/etc/stepgate/key', server: { port: 'x' } }), (file) => {
      assert.deepEqual(issuesOf(() => loadConfig({ STEPGATE_CONFIG: file })).sort(), ['server.port: must be a whole number from 1 to 65535', both].sort());
    });
    assert.deepEqual(issuesOf(() => loadConfig({ STEPGATE_SECRET_KEY: KEY(), STEPGATE_SECRET_KEY_FILE: '/etc/stepgate/key' })), [both]);
    assert.deepEqual(refused({ secretKey: KEY(), secretKeyFile: '/etc/stepgate/key' } satisfies ConfigInput), [both]);
  });
});

describe('the config file', () => {
  test('a root that is not a JSON object is refused, naming the file', async () => {
    for (const [content, what] of [['null', 'null'], ['[]', 'an array'], ['"stepgate"', 'a string'], ['8080', 'a number']]) {
      await withFile(content, (file) => {
        assert.deepEqual(issuesOf(() => loadConfig({ STEPGATE_CONFIG: file })), [`${file}: must hold a JSON object ({ … }) at its top level, not ${what}`], content);
      });
    }
  });
});

describe('server.trustedProxies: no range that trusts every address', () => {
  test('/0 in any spelling is refused, naming the key and why', () => {
    for (const range of ['0.0.0.0/0', '::/0', '::ffff:0.0.0.0/96']) {
      assert.deepEqual(refused({ server: { trustedProxies: ['10.0.0.0/8', range] } }), [
        'server.trustedProxies.1: must not be a /0 range: trusting every address as a proxy lets any client choose its IP through X-Forwarded-For',
      ]);
    }
  });

  test("what proxy-addr refused is refused here too, and what passes is accepted by the server's proxy test", () => {
    for (const range of ['10.0.0.0/33', '::1/129', '10.0.0.0/255.0.0.0', '10.0.0.1', 'loopback', '10.0/8', '10.0.0.0/-1', '10.0.0.0/ 8']) {
      assert.match(refused({ server: { trustedProxies: [range] } }).join('\n'), /^server\.trustedProxies\.0: must be an IPv4 or IPv6 CIDR/, range);
    }
    const { trustedProxies } = parseConfig({ server: { trustedProxies: ['10.0.0.0/8', '2001:db8::/32', '::ffff:192.0.2.0/120', '0.0.0.0/1'] } }).server;
    const trusted = trustedProxyTest(trustedProxies);
    assert.ok(trusted && trusted('10.1.2.3') && trusted('192.0.2.7') && trusted('::ffff:192.0.2.7') && trusted('10.1.2.3:443') && trusted('[2001:db8::1]:8443'));
    assert.ok(trusted && !trusted('192.0.3.7') && !trusted('unknown') && !trusted('::10.1.2.3'));
  });
});

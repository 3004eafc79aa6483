import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { loadConfig, parseConfig, ConfigError } from '../../src/config/load.ts';
import { loadSecretKey } from '../../src/config/secret-key.ts';
import { trustedProxyTest } from '../../src/http/request-context.ts';

/** The least an LDAP directory needs. */
const LDAP = { kind: 'ldap', urls: ['ldap://dc1'], bind: { dn: 'cn=svc', password: 'x' }, users: { baseDn: 'dc=x' } } as const;

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

  test('a PUBLIC_URL that is not a web origin is refused, naming the key', () => {
    for (const PUBLIC_URL of ['ftp://idp.example.org', 'https://idp.example.org/?x=1', 'https://user:pw@idp.example.org', 'idp.example.org']) {
      assert.throws(() => loadConfig({ PUBLIC_URL }), (error: Error) => error instanceof ConfigError && /server\.publicUrl/.test(error.message), PUBLIC_URL);
    }
  });

  test('an empty or blank PORT is refused, naming the key (it is not port 0)', () => {
    for (const PORT of ['', ' ', '80a', '0']) assert.throws(() => loadConfig({ PORT }), (error: Error) => error instanceof ConfigError && /server\.port/.test(error.message), JSON.stringify(PORT));
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

  test('a misspelt key is refused, named with its full path and the key it probably meant, with every other problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepgate-config-'));
    try {
      const file = join(dir, 'typo.json');
      await writeFile(file, JSON.stringify({ saml: { wantAuthnRequestSigned: true }, sesion: { idleTimeoutMinutes: 5 }, regulation: { maxFailurePerUser: 3 }, server: { port: 'eighty' } }));
      assert.throws(
        () => loadConfig({ STEPGATE_CONFIG: file, HOST: '0.0.0.0', PUBLIC_URL: 'https://idp.example.org', STEPGATE_DATA_DIR: dir, STEPGATE_SECRET_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn' }),
        (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.deepEqual([...error.issues].sort(), [
            'regulation.maxFailurePerUser: unknown key (did you mean maxFailuresPerUser?)',
            'saml.wantAuthnRequestSigned: unknown key (did you mean wantAuthnRequestsSigned?)',
            'server.port: must be a whole number from 1 to 65535',
            'sesion: unknown key (did you mean session?)',
          ].sort());
          return true;
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('unknown keys inside the chosen directory kind and the messages; a key far from every known one gets no guess', () => {
    assert.throws(
      () => parseConfig({
        directory: { kind: 'ldap', urls: ['ldap://dc1'], bind: { dn: 'cn=svc', password: 'x' }, users: { baseDn: 'dc=x', filtr: '(uid=<username>)' }, passwordRules: { minLength: 16 } },
        messages: { welcome: 'Hi' },
        log: { colour: true },
      }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues, [
          'directory.users.filtr: unknown key (did you mean filter?)',
          'directory.passwordRules: unknown key',
          'messages.welcome: unknown key',
          'log.colour: unknown key',
        ]);
        return true;
      },
    );
    assert.throws(() => parseConfig({ directory: { kind: 'local', passwordRules: { minLenght: 16 } } }), /^  - directory\.passwordRules\.minLenght: unknown key \(did you mean minLength\?\)$/m);
    assert.throws(() => parseConfig({ directory: { ...LDAP, groups: { mode: 'memberOf', membr: 'member' } } }), /^  - directory\.groups\.membr: unknown key/m, 'groups are checked too');
  });

  test("the group filter defaults to the groups of the mode's directory: OpenLDAP's classes, or Active Directory's group", () => {
    const groupsOf = (groups?: Record<string, unknown>) => {
      const { directory } = parseConfig({ directory: { ...LDAP, ...(groups ? { groups } : {}) } });
      assert.equal(directory.kind, 'ldap');
      return directory.kind === 'ldap' ? directory.groups : undefined;
    };
    assert.equal(groupsOf()!.filter, '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))');
    assert.equal(groupsOf({ mode: 'member' })!.filter, '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))');
    assert.equal(groupsOf({ mode: 'memberOf' })!.filter, '(objectClass=group)');
    assert.equal(groupsOf({ mode: 'memberOf', filter: '(objectClass=myGroup)' })!.filter, '(objectClass=myGroup)');
  });

  test('a group or user filter ldapts cannot use is refused at start, naming its key; one it reads is accepted', () => {
    for (const filter of ['(objectClass=groupOfNames', '(objectClass=a)(objectClass=b)', '(objectClass=a))(']) {
      assert.throws(() => parseConfig({ directory: { ...LDAP, groups: { filter } } }), /^  - directory\.groups\.filter: must be one LDAP filter, e\.g\. \(objectClass=groupOfNames\)/m, filter);
    }
    assert.throws(() => parseConfig({ directory: { ...LDAP, users: { baseDn: 'dc=x', filter: '(uid=<username>' } } }), /^  - directory\.users\.filter: must be one LDAP filter, e\.g\. \(&\(objectClass=inetOrgPerson\)\(uid=<username>\)\)/m);
    for (const directory of [
      { users: { baseDn: 'dc=x', filter: '(&(uid=<username>)(!(cn=a\\29b)))' }, groups: { filter: ' (|(objectClass=a)(objectClass=b)) ' } },
      // ldapts completes these, as earlier versions used them: accepted, with a warning at start.
      { users: { baseDn: 'dc=x', filter: '(&(uid=<username>)(objectClass=person)' }, groups: { filter: 'objectClass=groupOfNames' } },
    ]) {
      assert.equal(parseConfig({ directory: { ...LDAP, ...directory } }).directory.kind, 'ldap');
    }
  });

  test('free-form maps keep their own keys: trusted network names', () => {
    const config = parseConfig({ trustedNetworks: { office: ['192.0.2.0/24'], 'branch-2.vpn': ['2001:db8::/48'] } });
    assert.deepEqual(Object.keys(config.trustedNetworks), ['office', 'branch-2.vpn']);
  });

  test('a trusted network name that is not allowed is refused with what a name may hold, naming the key', () => {
    assert.throws(
      () => parseConfig({ trustedNetworks: { 'bad name': ['192.0.2.0/24'] } }),
      (error: unknown) => error instanceof ConfigError && error.issues.includes('trustedNetworks.bad name: invalid name: network names use letters, digits, ".", "_" and "-"'),
    );
  });

  test('CIDRs are checked with the policy engine parser, each named with its key; what passes, the trusted-proxy test accepts', () => {
    assert.throws(
      () => parseConfig({ server: { trustedProxies: ['999.1.1.1/99', ' 10.0.0.0/8', '10.0.0.0/8', '2001:db8::/32'] }, trustedNetworks: { office: ['192.0.2.0/24', '10.0/8', '192.0.2.0/33'] } }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues, [
          'server.trustedProxies.0: must be an IPv4 or IPv6 CIDR like 10.0.0.0/8 or ::1/128',
          'server.trustedProxies.1: must be an IPv4 or IPv6 CIDR like 10.0.0.0/8 or ::1/128',
          'trustedNetworks.office.1: must be an IPv4 or IPv6 CIDR like 192.0.2.0/24 or 2001:db8::/32',
          'trustedNetworks.office.2: must be an IPv4 or IPv6 CIDR like 192.0.2.0/24 or 2001:db8::/32',
        ]);
        return true;
      },
    );
    const { trustedProxies } = parseConfig({ server: { trustedProxies: ['10.0.0.0/8', '2001:db8::/32', '::ffff:192.0.2.0/120'] } }).server;
    // The server's proxy test is built from them (src/app.ts); a range it refused stopped the start without naming the key.
    assert.doesNotThrow(() => express().set('trust proxy', trustedProxyTest(trustedProxies)));
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

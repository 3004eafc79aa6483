import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { freePort } from '../../scripts/free-port.ts';
import { createTestCa, type TestCa } from '../helpers/tls-ca.ts';
import { capture, withDirectory, fixtureLdif } from '../helpers/ldap-directory.ts';
import type { AuthOutcome } from '../../src/directory/directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { compileFilter, escapeFilterValue, normaliseLogin } from '../../src/directory/ldap-filter.ts';
import { inChainFilter } from '../../src/directory/ldap-groups.ts';
import { adBindFailureVerdict, adEntryVerdict } from '../../src/directory/ldap-account-state.ts';
import { MESSAGES, passwordChangeRefusalReason, passwordModifyRequestValue, refusal as changeRefusal, unicodePwdValue } from '../../src/directory/ldap-password.ts';
import { inGroup } from '../../src/policy/group-references.ts';
import { LdapFaultRelay } from '../helpers/ldap-fault-relay.ts';

const PEOPLE = 'ou=people,dc=example,dc=org';
const ALICE_ID = '5a1e0000-0000-4000-8000-000000000001';
const pw = (uid: string): string => `Passw0rd!${uid}`;
const INVALID = { ok: false, reason: 'invalid-credentials' };
/** What the user is told of a refusal (the account id a refusal may carry is for counting guesses only). */
const refusal = (outcome: AuthOutcome) => (outcome.ok ? outcome : { ok: outcome.ok, reason: outcome.reason });

let ca: TestCa;
let wrongCa: TestCa;
let main: SlapdHandle;
let fixtures: string[];
const monitors = new Map<SlapdHandle, Client>();

/** Counters from cn=Monitor over one long-lived rootdn connection, so reading them adds nothing. */
async function counters(h: SlapdHandle): Promise<{ connections: number; binds: number; operations: Record<string, number> }> {
  let client = monitors.get(h);
  if (!client) {
    client = new Client({ url: h.url });
    await client.bind(h.rootDn, h.rootPassword);
    monitors.set(h, client);
  }
  const { searchEntries } = await client.search('cn=Monitor', { scope: 'sub', filter: '(|(cn=Total)(monitorOpInitiated=*))', attributes: ['monitorCounter', 'monitorOpInitiated'] });
  const get = (rdn: string, a: string): number => Number(searchEntries.find((e) => e.dn.startsWith(rdn))?.[a]);
  /** Initiated operations by kind (Bind, Search, Modify, Extended…), from the entries under cn=Operations. */
  const operations = Object.fromEntries(
    searchEntries.filter((e) => /^cn=[^,]+,cn=Operations,cn=Monitor$/i.test(e.dn)).map((e) => [e.dn.slice(3, e.dn.indexOf(',')), Number(e['monitorOpInitiated'])]),
  );
  return { connections: get('cn=Total,cn=Connections', 'monitorCounter'), binds: get('cn=Bind,cn=Operations', 'monitorOpInitiated'), operations };
}

function configFor(overrides: Record<string, unknown> = {}, users: Record<string, unknown> = {}): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({
    kind: 'ldap',
    urls: [main.url],
    connectTimeoutMs: 2000,
    searchTimeoutMs: 2000,
    bind: { dn: main.serviceDn, password: main.servicePassword },
    users: { baseDn: PEOPLE, alternateLoginAttributes: ['mail'], ...users },
    ...overrides,
  });
}

/** A TCP proxy to slapd that can stop forwarding: a server that hangs without closing connections. */
async function freezableProxy(port: number): Promise<{ url: string; freeze(): void; close(): Promise<void> }> {
  let frozen = false;
  const sockets: Socket[] = [];
  const server = createServer((downstream) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.push(downstream, upstream);
    for (const [from, to] of [[downstream, upstream], [upstream, downstream]] as const) {
      from.on('data', (chunk) => void (frozen || to.write(chunk)));
      from.on('error', () => undefined).on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ldap://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, freeze: () => void (frozen = true), close: () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))) };
}

before(async () => {
  [ca, wrongCa, fixtures] = await Promise.all([createTestCa(), createTestCa('Wrong CA'), fixtureLdif()]);
  main = await startSlapd({ ldif: fixtures, tls: ca });
});

after(async () => {
  await Promise.all([...monitors.values()].map((c) => c.unbind().catch(() => undefined)));
  await main?.stop();
  await Promise.all([ca?.cleanup(), wrongCa?.cleanup()]);
});

describe('sign-in', () => {
  test('search + bind maps the profile: entryUUID id, names, nested groups, lower-cased raw attributes', async () => {
    const outcome = await withDirectory(configFor(), (d) => d.authenticate('alice', pw('alice')));
    assert.equal(outcome.ok, true);
    if (!outcome.ok) return;
    const { user } = outcome;
    assert.equal(user.id, ALICE_ID);
    assert.equal(user.username, 'alice');
    assert.equal(user.name, 'Alice Adams');
    assert.equal(user.email, 'alice@example.org');
    assert.deepEqual(user.groups, ['engineers', 'staff', 'all-staff']);
    assert.deepEqual(user.groupDns, ['cn=engineers,ou=groups,dc=example,dc=org', 'cn=staff,ou=groups,dc=example,dc=org', 'cn=all-staff,ou=groups,dc=example,dc=org'], 'the DNs a policy naming a group by DN matches');
    assert.ok(inGroup(user, 'CN=Staff, OU=Groups, DC=example, DC=org'), 'a nested group, by DN');
    assert.ok(!inGroup(user, 'cn=staff,ou=elsewhere,dc=example,dc=org'), 'a group of the same name elsewhere is another group');
    assert.deepEqual(user.attributes['departmentnumber'], ['Engineering']);
    assert.deepEqual(user.attributes['telephonenumber'], ['+1 555 0101']);
    assert.equal(user.attributes['userpassword'], undefined, 'password hashes never leave the directory');
    assert.ok(Object.keys(user.attributes).every((k) => k === k.toLowerCase() && user.attributes[k]!.length > 0));
    assert.equal(outcome.passwordExpiresInDays, undefined);
  });

  test('wrong password and unknown user give the same invalid-credentials', async () => {
    await withDirectory(configFor(), async (d) => {
      const wrong = await d.authenticate('alice', 'wrong-password');
      assert.deepEqual(refusal(wrong), INVALID);
      assert.deepEqual(await d.authenticate('nobody', 'wrong-password'), INVALID, 'an unknown login names no account');
      const right = await d.authenticate('alice', pw('alice')); // resets the ppolicy failure count
      assert.ok(right.ok);
      assert.equal(!wrong.ok && wrong.reason === 'invalid-credentials' && wrong.accountId, right.user.id, "a wrong password names the account, for the regulator's count per account");
    });
  });

  test('an unknown login costs the same LDAP operations as a known one with a wrong password (no group search before the password is right)', async () => {
    /** Operations of each kind (and new connections) slapd saw during `fn`. */
    const operationsDuring = async (fn: () => Promise<unknown>): Promise<Record<string, number>> => {
      const before = await counters(main);
      await fn();
      const afterwards = await counters(main);
      const kinds = Object.keys(afterwards.operations).filter((kind) => afterwards.operations[kind] !== before.operations[kind]);
      return { ...Object.fromEntries(kinds.map((kind) => [kind, afterwards.operations[kind]! - before.operations[kind]!])), connections: afterwards.connections - before.connections };
    };
    await withDirectory(configFor(), async (d) => {
      // open the pools' connections first, so neither measured sign-in pays for connecting
      await d.authenticate('alice', 'wrong-password');
      await d.authenticate('nobody', 'wrong-password');
      const known = await operationsDuring(async () => assert.deepEqual(refusal(await d.authenticate('alice', 'wrong-password')), INVALID));
      const unknown = await operationsDuring(async () => assert.deepEqual(refusal(await d.authenticate('nobody', 'wrong-password')), INVALID));
      assert.deepEqual(unknown, known);
      assert.equal(known['Bind'], 1, 'one bind: the password is tried in both cases');
      assert.equal((await d.authenticate('alice', pw('alice'))).ok, true); // resets the ppolicy failure count
    });
  });

  test('an empty password is refused without any bind or connection', async () => {
    const before = await counters(main);
    await withDirectory(configFor(), async (d) => {
      assert.deepEqual(refusal(await d.authenticate('alice', '')), INVALID);
      assert.deepEqual(refusal(await d.authenticate('nobody', '')), INVALID);
      assert.deepEqual(d.poolStats().auth.created + d.poolStats().search.created, 0);
    });
    const afterwards = await counters(main);
    assert.equal(afterwards.binds - before.binds, 0);
    assert.equal(afterwards.connections - before.connections, 0);
  });

  test('LDAP-injection logins match nobody, even with a real password', async () => {
    const attacks = ['*)(uid=*', '*', 'alice)(|(uid=*', '\\00', 'alice\\00', 'alice\u0000', 'alice*', '(uid=alice)', 'al*ce'];
    await withDirectory(configFor(), async (d) => {
      for (const login of attacks) {
        assert.deepEqual(refusal(await d.authenticate(login, pw('alice'))), INVALID, login);
        assert.equal(await d.findUser(login), null, login);
      }
    });
    assert.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
    assert.equal(escapeFilterValue('a\\b\u0000é'), 'a\\5cb\\00\\c3\\a9');
  });

  test('non-ASCII logins are sent as UTF-8 (ldapts alone would mangle escaped bytes)', async () => {
    const outcome = await withDirectory(configFor(), (d) => d.authenticate('jörg', pw('jörg')));
    assert.equal(outcome.ok && outcome.user.name, 'Jörg Müller');
    assert.equal(compileFilter('(cn=J\\c3\\b6rg)').toString(), '(cn=Jörg)');
  });

  test('DOMAIN\\alice and alice@example.org are normalised to alice', async () => {
    await withDirectory(configFor(), async (d) => {
      for (const login of ['EXAMPLE\\alice', 'alice@example.org', '  alice  ']) {
        const outcome = await d.authenticate(login, pw('alice'));
        assert.equal(outcome.ok && outcome.user.id, ALICE_ID, login);
      }
    });
    assert.equal(normaliseLogin('EXAMPLE\\alice', { stripDomainPrefix: false, stripUpnSuffix: true }), 'EXAMPLE\\alice');
  });

  test('login by mail resolves the account; a mail shared by two entries is refused and logged', async () => {
    const { logger, lines } = capture();
    await withDirectory(
      configFor(),
      async (d) => {
        const outcome = await d.authenticate('c.jones@example.org', pw('carol'));
        assert.equal(outcome.ok && outcome.user.username, 'carol');
        assert.deepEqual(refusal(await d.authenticate('shared@example.org', pw('erin'))), INVALID);
      },
      logger,
    );
    assert.ok(lines.some((l) => l['event'] === 'ldap.user.ambiguous' && l['matches'] === 2));
    assert.ok(!JSON.stringify(lines).includes(pw('erin')), 'passwords are never logged');
  });
});

describe('groups', () => {
  const groupsOf = (login: string, groups: Record<string, unknown>): Promise<string[]> =>
    withDirectory(configFor({ groups }), async (d) => (await d.findUser(login))?.groups ?? ['<no user>']);

  test('nesting follows nestedDepth', async () => {
    assert.deepEqual(await groupsOf('alice', { nestedDepth: 0 }), ['engineers']);
    assert.deepEqual(await groupsOf('alice', { nestedDepth: 2 }), ['engineers', 'staff', 'all-staff']);
    assert.deepEqual(await groupsOf('alice', { nestedDepth: 10 }), ['engineers', 'staff', 'all-staff', 'everyone']);
  });

  test('cycles terminate and each group appears once', async () => {
    assert.deepEqual(await groupsOf('bob', { nestedDepth: 10 }), ['cycle-a', 'cycle-b', 'cycle-c']);
  });

  test('uniqueMember groups and the AD in-chain filter', async () => {
    assert.deepEqual(await groupsOf('alice', { memberAttribute: 'uniqueMember' }), ['auditors']);
    const filter = inChainFilter(configFor().groups, 'CN=A (x),DC=corp');
    assert.equal(filter, '(&(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))(member:1.2.840.113556.1.4.1941:=CN=A \\28x\\29,DC=corp))');
  });
});

describe('account state (ppolicy)', () => {
  test('must-change, expired and expiring are reported only with the right password', async () => {
    await withDirectory(configFor(), async (d) => {
      const state = async (uid: string): Promise<unknown> => {
        const o = await d.authenticate(uid, pw(uid));
        return o.ok ? `ok:${o.passwordExpiresInDays}` : o.reason === 'account-state' ? `${o.state}:${o.user.username}` : o.reason;
      };
      assert.equal(await state('mustchange'), 'must-change:mustchange');
      // The fixture's default policy has no grace logins (pwdGraceAuthNLimit 0).
      assert.equal(await state('expired'), 'password-expired-no-grace:expired');
      assert.equal(await state('expiring'), 'ok:7');
      assert.equal(await state('marked-disabled'), 'disabled:marked-disabled');
      assert.equal(await state('marked-locked'), 'locked:marked-locked');
      for (const uid of ['mustchange', 'expired', 'expiring', 'marked-disabled', 'marked-locked']) {
        assert.deepEqual(refusal(await d.authenticate(uid, 'wrong-password')), INVALID, uid);
      }
    });
  });

  test('accounts slapd locks before checking the password stay invalid-credentials (logged with the reason)', async () => {
    const { logger, lines } = capture();
    await withDirectory(
      configFor(),
      async (d) => {
        for (const uid of ['locked', 'disabled']) {
          assert.deepEqual(refusal(await d.authenticate(uid, pw(uid))), INVALID);
          assert.deepEqual(refusal(await d.authenticate(uid, 'wrong-password')), INVALID);
        }
        for (let i = 0; i < 3; i++) assert.deepEqual(refusal(await d.authenticate('victim', 'wrong-password')), INVALID);
        assert.deepEqual(refusal(await d.authenticate('victim', pw('victim'))), INVALID, 'locked by pwdMaxFailure');
      },
      logger,
    );
    const reasons = lines.filter((l) => l['event'] === 'ldap.auth.refused' && l['reason'] === 'locked-password-not-verified').map((l) => l['login']);
    assert.deepEqual(reasons, ['locked', 'locked', 'disabled', 'disabled', 'victim']);
  });

  test('findUserById re-reads a user, and not a disabled or unknown one', async () => {
    await withDirectory(configFor(), async (d) => {
      assert.equal((await d.findUserById(ALICE_ID))?.username, 'alice');
      assert.equal(await d.findUserById('5a1e0000-0000-4000-8000-000000000010'), null, 'marked-disabled');
      assert.equal(await d.findUserById('5a1e0000-0000-4000-8000-0000000000ff'), null);
      assert.equal(await d.findUserById('*'), null);
    });
  });
});

describe('password change', () => {
  test('policy refusals in plain words, then old password fails and new works', async () => {
    await withDirectory(configFor(), async (d) => {
      assert.deepEqual(await d.changePassword((await d.findUser('dave'))!.id, pw('dave'), 'short'), { ok: false, reason: 'rules', message: MESSAGES.tooShort }, 'a refused new password is not a guess');
      assert.deepEqual(await d.changePassword((await d.findUser('dave'))!.id, pw('dave'), pw('dave')), { ok: false, reason: 'history', message: MESSAGES.history }, 'a refused new password is not a guess');
      assert.deepEqual(await d.changePassword((await d.findUser('dave'))!.id, 'not-my-password', 'Brand-new-1!'), { ok: false, reason: 'wrong-current', message: MESSAGES.wrongCurrent });
      assert.deepEqual(await d.changePassword((await d.findUser('dave'))!.id, pw('dave'), 'Brand-new-1!'), { ok: true });
      assert.deepEqual(refusal(await d.authenticate('dave', pw('dave'))), INVALID);
      assert.equal((await d.authenticate('dave', 'Brand-new-1!')).ok, true);
      assert.deepEqual(await d.changePassword((await d.findUser('dave'))!.id, 'Brand-new-1!', pw('dave')), { ok: false, reason: 'history', message: MESSAGES.history }, 'a refused new password is not a guess');
    });
  });

  test('a must-change user can change the password and then signs in normally', async () => {
    await withDirectory(configFor(), async (d) => {
      const first = await d.authenticate('newhire', pw('newhire'));
      assert.equal(!first.ok && first.reason === 'account-state' && first.state, 'must-change');
      assert.deepEqual(await d.changePassword((await d.findUser('newhire'))!.id, pw('newhire'), 'Chosen-by-me-2'), { ok: true });
      assert.deepEqual(await d.authenticate('newhire', 'Chosen-by-me-2').then((o) => o.ok && !('state' in o)), true);
    });
  });
});

describe('transport and failover', () => {
  const tls = (caFile: string, rejectUnauthorized = true): Record<string, unknown> => ({ tls: { caFile, rejectUnauthorized } });

  test('StartTLS and LDAPS validated against the test CA', async () => {
    for (const overrides of [{ startTls: true, ...tls(ca.caFile) }, { urls: [main.ldapsUrl], ...tls(ca.caFile) }]) {
      const outcome = await withDirectory(configFor(overrides), (d) => d.authenticate('alice', pw('alice')));
      assert.equal(outcome.ok && outcome.user.id, ALICE_ID, JSON.stringify(overrides));
    }
  });

  test('a wrong CA gives a clear unavailable error, unless validation is explicitly off', async () => {
    for (const overrides of [{ startTls: true, ...tls(wrongCa.caFile) }, { urls: [main.ldapsUrl], ...tls(wrongCa.caFile) }]) {
      const outcome = await withDirectory(configFor(overrides), (d) => d.authenticate('alice', pw('alice')));
      assert.equal(outcome.ok, false);
      assert.match(!outcome.ok && outcome.reason === 'unavailable' ? outcome.detail : '', /no directory server reachable: .*(certificate|SELF_SIGNED|UNABLE_TO_VERIFY)/i);
    }
    const lax = await withDirectory(configFor({ urls: [main.ldapsUrl], ...tls(wrongCa.caFile, false) }), (d) => d.authenticate('alice', pw('alice')));
    assert.equal(lax.ok, true);
  });

  test('primary on a closed port: the backup is used', async () => {
    const closed = `ldap://127.0.0.1:${await freePort()}`;
    const outcome = await withDirectory(configFor({ urls: [closed, main.url] }), (d) => d.authenticate('alice', pw('alice')));
    assert.equal(outcome.ok, true);
  });

  test('primary stopped mid-run: the next sign-in fails over to the backup', async () => {
    const primary = await startSlapd({ ldif: fixtures });
    try {
      await withDirectory(configFor({ urls: [primary.url, main.url] }), async (d) => {
        const p0 = await counters(primary);
        assert.equal((await d.authenticate('alice', pw('alice'))).ok, true);
        assert.ok((await counters(primary)).binds > p0.binds, 'first sign-in went to the primary');
        monitors.get(primary)?.unbind().catch(() => undefined);
        monitors.delete(primary);
        await primary.stop();
        const m0 = await counters(main);
        const outcome = await d.authenticate('alice', pw('alice'));
        assert.equal(outcome.ok && outcome.user.id, ALICE_ID);
        assert.ok((await counters(main)).binds > m0.binds, 'second sign-in went to the backup');
      });
    } finally {
      await primary.stop();
    }
  });

  test('every server down: unavailable with the reason, and connect timeouts are honoured', async () => {
    const silent: Socket[] = [];
    const blackhole: Server = createServer((s) => void silent.push(s));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const port = (blackhole.address() as { port: number }).port;
    try {
      const closed = `ldap://127.0.0.1:${await freePort()}`;
      const started = performance.now();
      const outcome = await withDirectory(configFor({ urls: [closed, `ldap://127.0.0.1:${port}`], connectTimeoutMs: 300 }), (d) => d.authenticate('alice', pw('alice')));
      assert.equal(!outcome.ok && outcome.reason, 'unavailable');
      assert.match(!outcome.ok && outcome.reason === 'unavailable' ? outcome.detail : '', /ECONNREFUSED.*timeout/s);
      assert.ok(performance.now() - started < 2000);
    } finally {
      silent.forEach((s) => s.destroy());
      blackhole.close();
    }
  });

  test('a hung primary: the operation times out and the sign-in fails over', async () => {
    const proxy = await freezableProxy(main.port);
    const { logger, lines } = capture();
    try {
      await withDirectory(
        configFor({ urls: [proxy.url, main.url], searchTimeoutMs: 300, connectTimeoutMs: 300 }),
        async (d) => {
          assert.equal((await d.authenticate('alice', pw('alice'))).ok, true);
          proxy.freeze();
          const started = performance.now();
          const outcome = await d.authenticate('alice', pw('alice'));
          assert.equal(outcome.ok && outcome.user.id, ALICE_ID);
          assert.ok(performance.now() - started < 3000);
        },
        logger,
      );
    } finally {
      await proxy.close();
    }
    assert.ok(lines.some((l) => l['event'] === 'ldap.connect.failed' && l['url'] === proxy.url && /timeout/.test(String(l['error']))));
  });

  test('a hung only server: parallel sign-ins are answered unavailable at once instead of one connect timeout after another, and it recovers', async () => {
    const relay = await LdapFaultRelay.to(main.port, main.serviceDn);
    try {
      await withDirectory(configFor({ urls: [relay.url], searchTimeoutMs: 400, connectTimeoutMs: 400, pool: { size: 2 } }), async (d) => {
        assert.equal((await d.authenticate('alice', pw('alice'))).ok, true);
        relay.mode = { kind: 'stall' };
        const before = relay.connections;
        const outcomes = await Promise.all(Array.from({ length: 20 }, () => d.authenticate('alice', pw('alice'))));
        assert.ok(outcomes.every((o) => !o.ok && o.reason === 'unavailable'), JSON.stringify(outcomes.find((o) => o.ok || o.reason !== 'unavailable')));
        // The pools' own connections time out; then one probe at a time tries the server, not every sign-in in turn.
        assert.ok(relay.connections - before <= 4, `${relay.connections - before} connection attempts to the hung server`);
        relay.mode = { kind: 'pass' };
        let recovered: AuthOutcome | undefined;
        for (let i = 0; i < 40 && !recovered?.ok; i++) {
          recovered = await d.authenticate('alice', pw('alice'));
          if (!recovered.ok) await new Promise((resolve) => setTimeout(resolve, 250));
        }
        assert.equal(recovered?.ok, true, 'back without a restart once the server answers');
      });
    } finally {
      await relay.close();
    }
  });

  test('a refused service password is not sent again with every sign-in (a directory with lockout would lock the shared account)', async () => {
    const before = await counters(main);
    const outcomes = await withDirectory(configFor({ bind: { dn: main.serviceDn, password: 'wrong' } }), async (d) => {
      const all: AuthOutcome[] = [];
      for (let i = 0; i < 10; i++) all.push(await d.authenticate('alice', pw('alice')));
      return all;
    });
    assert.ok(outcomes.every((o) => !o.ok && o.reason === 'unavailable'));
    assert.match(!outcomes[9]!.ok && outcomes[9]!.reason === 'unavailable' ? outcomes[9]!.detail : '', /service bind failed: .*not tried again until/);
    const binds = (await counters(main)).binds - before.binds;
    assert.ok(binds <= 2, `${binds} binds with the wrong service password for 10 sign-ins`);
  });

  test('a failing service bind falls back to backupBind; both failing is unavailable', async () => {
    const { logger, lines } = capture();
    const backup = configFor({ bind: { dn: main.serviceDn, password: 'wrong' }, backupBind: { dn: main.rootDn, password: main.rootPassword } });
    assert.equal((await withDirectory(backup, (d) => d.authenticate('alice', pw('alice')), logger)).ok, true);
    assert.ok(lines.some((l) => l['event'] === 'ldap.bind.backup'));
    const broken = configFor({ bind: { dn: main.serviceDn, password: 'wrong' } });
    const outcome = await withDirectory(broken, (d) => d.authenticate('alice', pw('alice')));
    assert.match(!outcome.ok && outcome.reason === 'unavailable' ? outcome.detail : '', /service bind failed: cn=service,dc=example,dc=org: LDAP 49 invalid credentials/);
    await withDirectory(broken, (d) => assert.rejects(d.startupCheck(), /LDAP directory check failed: service bind failed/));
    await withDirectory(configFor(), (d) => d.startupCheck());
  });

  test('startupCheck and sign-in name a wrong users.baseDn', async () => {
    await withDirectory(configFor({}, { baseDn: 'ou=nope,dc=example,dc=org' }), async (d) => {
      await assert.rejects(d.startupCheck(), /LDAP directory check failed: users\.baseDn ou=nope,dc=example,dc=org does not exist/);
      const outcome = await d.authenticate('alice', pw('alice'));
      assert.match(!outcome.ok && outcome.reason === 'unavailable' ? outcome.detail : '', /LDAP 32 no such object/);
    });
  });

  test('startupCheck names a groups.baseDn that does not exist', async () => {
    const typo = configFor();
    await withDirectory({ ...typo, groups: { ...typo.groups, baseDn: 'ou=grups,dc=example,dc=org' } }, (d) =>
      assert.rejects(d.startupCheck(), /LDAP directory check failed: groups\.baseDn ou=grups,dc=example,dc=org does not exist/),
    );
  });

  test('the pool reuses connections: 40 sign-ins open at most pool-size connections per pool', async () => {
    const before = await counters(main);
    await withDirectory(configFor({ pool: { size: 2 } }), async (d) => {
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => d.authenticate(i % 2 ? 'alice' : 'bob', pw(i % 2 ? 'alice' : 'bob'))));
      assert.ok(outcomes.every((o) => o.ok));
      const stats = d.poolStats();
      assert.ok(stats.search.created <= 2 && stats.auth.created <= 2, JSON.stringify(stats));
    });
    assert.ok((await counters(main)).connections - before.connections <= 4);
  });
});

describe('diagnoseLdap', () => {
  const steps = async (config: LdapDirectoryConfig, user?: string): Promise<string[]> =>
    (await diagnoseLdap(config, { user })).map((s) => `${s.step}:${s.ok}`);

  test('reports each step, and exactly the one that fails', async () => {
    const closed = `ldap://127.0.0.1:${await freePort()}`;
    assert.deepEqual(await steps(configFor(), 'alice'), ['connect:true', 'service-bind:true', 'base-dn:true', 'user-lookup:true', 'groups:true']);
    assert.deepEqual(await steps(configFor({ urls: [closed, main.url] }), 'alice'), ['connect:false', 'connect:true', 'service-bind:true', 'base-dn:true', 'user-lookup:true', 'groups:true']);
    assert.deepEqual(await steps(configFor({ bind: { dn: main.serviceDn, password: 'wrong' } }), 'alice'), ['connect:true', 'service-bind:false']);
    assert.deepEqual(await steps(configFor(), 'nobody'), ['connect:true', 'service-bind:true', 'base-dn:true', 'user-lookup:false']);
    assert.deepEqual(await steps(configFor(), 'shared@example.org'), ['connect:true', 'service-bind:true', 'base-dn:true', 'user-lookup:false']);
    assert.deepEqual(await steps(configFor({ urls: [closed] })), ['connect:false']);
    const detailed = await diagnoseLdap(configFor({ startTls: true, tls: { caFile: ca.caFile } }), { user: 'alice' });
    assert.match(detailed[0]!.detail, /reachable \(TLS\)/);
    assert.equal(detailed[4]!.detail, '3 group(s) under dc=example,dc=org (groups.baseDn not set: the dc= part of users.baseDn): "engineers", "staff", "all-staff"');
    assert.ok(detailed.every((s) => Number.isInteger(s.ms) && s.ms >= 0));
  });
});

describe('Active Directory decoding (no AD server here: pure functions)', () => {
  test('bind error data codes: states only for codes AD sends after a correct password', () => {
    const verdict = (data: string): string => {
      const v = adBindFailureVerdict(`80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data ${data}, v4563`);
      return v.kind === 'state' ? v.state : v.kind;
    };
    assert.deepEqual(['525', '52e', '775', '530', '531', '532', '533', '701', '773'].map(verdict), [
      'invalid', 'invalid', 'invalid', 'disabled', 'disabled', 'password-expired', 'disabled', 'expired', 'must-change',
    ]);
  });

  test('userAccountControl, pwdLastSet, accountExpires and expiry warnings', () => {
    const now = Date.UTC(2026, 0, 15);
    const ft = (ms: number): string => String((BigInt(ms) + 11_644_473_600_000n) * 10_000n);
    const v = (attrs: Record<string, string>, maxAge?: number): string => {
      const r = adEntryVerdict({ dn: 'cn=x', ...attrs }, now, 14, maxAge);
      return r.kind === 'state' ? r.state : r.kind === 'ok' ? `ok:${r.passwordExpiresInDays}` : r.kind;
    };
    assert.equal(v({ userAccountControl: '514' }), 'disabled');
    assert.equal(v({ userAccountControl: '512', 'msDS-User-Account-Control-Computed': '16' }), 'locked');
    assert.equal(v({ userAccountControl: '512', pwdLastSet: '0' }), 'must-change');
    assert.equal(v({ userAccountControl: '512', 'msDS-User-Account-Control-Computed': String(0x800000) }), 'password-expired');
    assert.equal(v({ userAccountControl: '512', accountExpires: ft(now - 1000) }), 'expired');
    assert.equal(v({ userAccountControl: '512', accountExpires: '9223372036854775807' }), 'ok:undefined');
    assert.equal(v({ userAccountControl: '512', 'msDS-UserPasswordExpiryTimeComputed': ft(now + 5 * 86_400_000) }), 'ok:5');
    assert.equal(v({ userAccountControl: '512', pwdLastSet: ft(now - 80 * 86_400_000) }, 90 * 86_400_000), 'ok:10');
    assert.equal(v({ userAccountControl: '512', pwdLastSet: ft(now - 91 * 86_400_000) }, 90 * 86_400_000), 'password-expired');
    assert.equal(v({ userAccountControl: String(512 | 0x10000), pwdLastSet: ft(now - 91 * 86_400_000) }, 90 * 86_400_000), 'ok:undefined');
  });

  test('password change encodings and AD messages', () => {
    assert.deepEqual(unicodePwdValue('Ab1'), Buffer.from([0x22, 0, 0x41, 0, 0x62, 0, 0x31, 0, 0x22, 0]));
    assert.equal(passwordModifyRequestValue('uid=a', 'o', 'n').toString('hex'), '300d8005' + Buffer.from('uid=a').toString('hex') + '81016f82016e');
    const refused = (message: string) => changeRefusal(passwordChangeRefusalReason(new Error(message)));
    assert.deepEqual(refused('0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria'), { ok: false, reason: 'rules', message: MESSAGES.adPolicy });
    assert.deepEqual(refused('00000056: AtrErr: DSID-03190F80, #1'), { ok: false, reason: 'wrong-current', message: MESSAGES.wrongCurrent });
    assert.deepEqual(refused('Password is in history of old passwords'), { ok: false, reason: 'history', message: MESSAGES.history });
  });
});

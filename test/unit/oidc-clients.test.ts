import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { redirectUriProblem, redirectUriRegistered } from '../../src/oidc/redirect-uri.ts';
import { clientRegistry, relyingPartySettings } from '../../src/oidc/client-registry.ts';
import { ClientAdapter } from '../../src/oidc/client-adapter.ts';
import { clientCommands } from '../../src/cli/commands/client.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { Store } from '../../src/store/store.ts';

describe('redirect URI rules', () => {
  test('https anywhere, http only on loopback, absolute, no fragment', () => {
    const cases: Array<[string, boolean]> = [
      ['https://app.example.org/cb', true],
      ['https://app.example.org:8443/oidc/callback?tenant=a', true],
      ['http://localhost:3000/cb', true],
      ['http://127.0.0.1/cb', true],
      ['http://[::1]:8080/cb', true],
      ['http://app.example.org/cb', false],
      ['http://localhost.evil.example/cb', false],
      ['https://app.example.org/cb#frag', false],
      ['https://app.example.org/cb#', false],
      ['/relative/cb', false],
      ['javascript:alert(1)', false],
      ['com.example.app:/cb', false],
      ['https://user:pw@app.example.org/cb', false],
      ['https://app.example.org/a b', false],
      ['https://app.example.org', true],
      ['https://*.example.org/cb', false],
      ['https://app.example.org/*', false],
      ['HTTPS://APP.example.org/cb', false],
      ['https:/app.example.org/cb', false],
      ['http://2130706433/cb', false],
      ['https://app.example.org:443/cb', false],
    ];
    for (const [uri, accepted] of cases) assert.equal(redirectUriProblem(uri) === undefined, accepted, `${uri}: ${redirectUriProblem(uri)}`);
  });

  test('a private-use URI scheme (a mobile app\'s) is refused naming it, with what a native app can register instead', () => {
    for (const uri of ['com.example.app:/oauth2redirect', 'com.example.app://callback']) {
      assert.match(redirectUriProblem(uri)!, /^is a private-use URI scheme \(com\.example\.app:, RFC 8252 §7\.1\), which Stepgate does not support; a native app can receive the code on http:\/\/127\.0\.0\.1 or http:\/\/\[::1\] with any port \(register it with --public, §7\.3\), or on an https address it claims/);
    }
    assert.match(redirectUriProblem('ftp://rp.example.org/cb')!, /^scheme ftp: is not allowed; use https$/);
  });

  test('a URI that clients would send spelt otherwise is refused with the spelling to register; wildcards are named', () => {
    assert.match(redirectUriProblem('HTTPS://APP.example.org/cb')!, /clients send it as https:\/\/app\.example\.org\/cb/);
    assert.match(redirectUriProblem('https://*.example.org/cb')!, /wildcards are not supported/);
  });

  test('a public client\'s http URI on a loopback IP literal takes any port (RFC 8252 7.3); everything else, and every confidential client, matches exactly', () => {
    const registered = ['http://127.0.0.1:19302/cb', 'http://[::1]/cb?app=1', 'http://localhost:5173/spa', 'https://app.example.org/cb'];
    const cases: Array<[string, boolean, boolean]> = [
      // [requested, public client, confidential client]
      ['http://127.0.0.1:19302/cb', true, true],
      ['http://127.0.0.1:51234/cb', true, false],
      ['http://127.0.0.1/cb', true, false],
      ['http://[::1]:8080/cb?app=1', true, false],
      ['http://[::1]:8080/cb', false, false],
      ['http://[::1]:8080/cb?app=2', false, false],
      ['http://127.0.0.1:51234/cb/', false, false],
      ['http://127.0.0.1:51234/CB', false, false],
      ['http://127.0.0.1:51234/cb?x=1', false, false],
      ['http://127.0.0.1:51234/cb#x', false, false],
      ['http://127.0.0.1:51234/other', false, false],
      ['http://user@127.0.0.1:51234/cb', false, false],
      ['HTTP://127.0.0.1:51234/cb', false, false],
      ['http://127.1:51234/cb', false, false],
      ['https://127.0.0.1:51234/cb', false, false],
      ['http://[::1]:8080/cb?app=1&', false, false],
      ['http://localhost:5173/spa', true, true],
      ['http://localhost:5174/spa', false, false],
      ['http://127.0.0.1:5173/spa', false, false],
      ['https://app.example.org:8443/cb', false, false],
      ['not a url', false, false],
    ];
    for (const [uri, forPublic, forConfidential] of cases) {
      assert.equal(redirectUriRegistered(registered, uri, true), forPublic, `public: ${uri}`);
      assert.equal(redirectUriRegistered(registered, uri, false), forConfidential, `confidential: ${uri}`);
    }
  });
});

describe('client registry and CLI', () => {
  let dir: string;
  let store: Store;
  const box = new SecretBox(randomBytes(32));
  const config = parseConfig({});
  let out: string[] = [];
  let err: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepgate-clients-'));
    store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(box) }).open();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function cli(...words: string[]): Promise<number> {
    out = [];
    err = [];
    return runCli(clientCommands, words, { config: () => config, store: async () => store, box: () => box, clock: systemClock, out: (line) => out.push(line), err: (line) => err.push(line) });
  }

  test('client add prints the id and the secret once; the secret is stored sealed only', async () => {
    assert.equal(await cli('client', 'add', '--name', 'Wiki', '--redirect-uri', 'https://wiki.example.org/cb https://wiki.example.org/cb2', '--post-logout-redirect-uri', 'https://wiki.example.org/bye'), 0);
    const id = /client_id:\s+(\S+)/.exec(out.join('\n'))![1]!;
    const secret = /client_secret:\s+(\S+)/.exec(out.join('\n'))![1]!;
    const registry = clientRegistry(store, box, systemClock);
    const record = (await registry.get(id))!;
    assert.deepEqual(record.redirectUris, ['https://wiki.example.org/cb', 'https://wiki.example.org/cb2']);
    assert.equal(record.tokenEndpointAuthMethod, 'client_secret_basic');
    assert.equal(registry.secretOf(record), secret);
    await store.close();
    for (const file of await readdir(dir)) assert.ok(!(await readFile(join(dir, file), 'utf8')).includes(secret), `${file} holds the secret in clear`);
    store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(box) }).open();

    assert.equal(await cli('client', 'show', id), 0);
    assert.match(out.join('\n'), /confidential/);
    assert.ok(!out.join('\n').includes(secret));
    assert.equal(await cli('client', 'list'), 0);
    // policy=(default): the client follows policies.default, which the list now says.
    assert.match(out.join('\n'), new RegExp(`^${id}  confidential  policy=\\(default\\)  Wiki$`, 'm'));
  });

  test('a sealed secret does not open for another client id', async () => {
    const registry = clientRegistry(store, box, systemClock);
    const added = await registry.add({ name: 'A', redirectUris: ['https://a.example/cb'] });
    assert.ok(added.ok);
    assert.throws(() => registry.secretOf({ ...added.client, id: 'someone-else' }));
  });

  test('public clients have no secret; options map to the record', async () => {
    assert.equal(await cli('client', 'add', '--name', 'SPA', '--public', '--redirect-uri', 'http://localhost:5173/cb', '--scopes', 'openid profile', '--id-token-alg', 'ES256', '--no-refresh-tokens', '--policy', 'permit-everyone-require-mfa', '--allow-password-change'), 0);
    assert.doesNotMatch(out.join('\n'), /client_secret/);
    const id = /client_id:\s+(\S+)/.exec(out.join('\n'))![1]!;
    const record = (await clientRegistry(store, box, systemClock).get(id))!;
    assert.deepEqual(
      { auth: record.tokenEndpointAuthMethod, scopes: record.scopes, alg: record.idTokenSignedResponseAlg, grants: record.grantTypes, policy: record.policy, change: record.allowPasswordChange, secret: record.sealedSecret },
      { auth: 'none', scopes: ['openid', 'profile'], alg: 'ES256', grants: ['authorization_code'], policy: 'permit-everyone-require-mfa', change: true, secret: undefined },
    );
    assert.equal(await cli('client', 'list'), 0);
    assert.match(out.join('\n'), new RegExp(`^${id}  public        policy=permit-everyone-require-mfa  SPA$`, 'm'));
  });

  test('refusals: bad redirect URIs, unknown scopes, unknown policy, missing options', async () => {
    assert.equal(await cli('client', 'add', '--name', 'X', '--redirect-uri', 'http://app.example.org/cb https://app.example.org/cb#x'), 1);
    assert.match(err.join('\n'), /http is only allowed for localhost/);
    assert.match(err.join('\n'), /fragment/);
    assert.equal(await cli('client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--scopes', 'profile offline_access'), 1);
    assert.match(err.join('\n'), /unknown scope\(s\): offline_access/);
    assert.match(err.join('\n'), /must include openid/);
    assert.equal(await cli('client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--policy', 'nope'), 1);
    assert.match(err.join('\n'), /No policy named "nope"/);
    assert.equal(await cli('client', 'add', '--name', 'X'), 2);
    assert.match(err.join('\n'), /Usage: npm run cli -- client add/);
    assert.equal(await cli('client', 'add', '--name', 'X', '--public', '--auth-method', 'post', '--redirect-uri', 'https://x.example/cb'), 1);
  });

  test('client remove, and help for every command', async () => {
    const added = await clientRegistry(store, box, systemClock).add({ name: 'Gone', redirectUris: ['https://gone.example/cb'] });
    assert.ok(added.ok);
    assert.equal(await cli('client', 'remove', added.client.id), 0);
    assert.equal(await cli('client', 'show', added.client.id), 1);
    assert.equal(await cli('client', 'remove', added.client.id), 1);
    for (const command of ['add', 'set', 'list', 'show', 'remove']) {
      assert.equal(await cli('client', command, '--help'), 0);
      assert.match(out.join('\n'), new RegExp(`Usage: npm run cli -- client ${command}`));
    }
  });

  describe('back-channel logout registration', () => {
    const registry = () => clientRegistry(store, box, systemClock);
    const idOf = () => /client_id:\s+(\S+)/.exec(out.join('\n'))![1]!;

    test('client add stores the URI and the sid requirement; show prints them; the provider gets them as metadata', async () => {
      assert.equal(await cli('client', 'add', '--name', 'Wiki', '--redirect-uri', 'https://wiki.example.org/cb', '--backchannel-logout-uri', 'https://wiki.example.org/bcl?tenant=a', '--backchannel-logout-session-required'), 0, err.join('\n'));
      const id = idOf();
      const record = (await registry().get(id))!;
      assert.deepEqual([record.backchannelLogoutUri, record.backchannelLogoutSessionRequired], ['https://wiki.example.org/bcl?tenant=a', true]);
      const metadata = await new ClientAdapter(registry()).find(id);
      assert.deepEqual([metadata?.backchannel_logout_uri, metadata?.backchannel_logout_session_required], ['https://wiki.example.org/bcl?tenant=a', true]);
      assert.equal(await cli('client', 'show', id), 0);
      assert.match(out.join('\n'), /\nback-channel logout:\s+https:\/\/wiki\.example\.org\/bcl\?tenant=a \(sid required\)\n/);

      for (const uri of ['http://localhost:3000/bcl', 'http://127.0.0.1/bcl', 'http://[::1]:8080/bcl']) {
        assert.equal(await cli('client', 'add', '--name', 'Dev', '--redirect-uri', 'http://localhost:3000/cb', '--backchannel-logout-uri', uri), 0, `${uri}: ${err.join('\n')}`);
        assert.deepEqual([(await registry().get(idOf()))?.backchannelLogoutUri, (await registry().get(idOf()))?.backchannelLogoutSessionRequired], [uri, true], 'sid by default');
      }

      // As client add --help offers it: for a client that keys its sessions by sub only.
      assert.equal(await cli('client', 'add', '--name', 'By sub', '--redirect-uri', 'https://sub.example.org/cb', '--backchannel-logout-uri', 'https://sub.example.org/bcl', '--no-backchannel-logout-session-required'), 0, err.join('\n'));
      assert.equal((await registry().get(idOf()))?.backchannelLogoutSessionRequired, false);
      assert.equal((await new ClientAdapter(registry()).find(idOf()))?.backchannel_logout_session_required, false);
      assert.equal(await cli('client', 'show', idOf()), 0);
      assert.match(out.join('\n'), /\nback-channel logout:\s+https:\/\/sub\.example\.org\/bcl \(sid not required\)\n/);
      assert.equal(await cli('client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--backchannel-logout-uri', 'https://x.example/bcl', '--backchannel-logout-session-required', '--no-backchannel-logout-session-required'), 2);
      assert.match(err.join('\n'), /choose one of --backchannel-logout-session-required and --no-backchannel-logout-session-required/);

      assert.equal(await cli('client', 'add', '--name', 'Plain', '--redirect-uri', 'https://plain.example.org/cb'), 0);
      const plain = (await registry().get(idOf()))!;
      assert.equal('backchannelLogoutUri' in plain || 'backchannelLogoutSessionRequired' in plain, false);
      assert.equal('backchannel_logout_uri' in (await new ClientAdapter(registry()).find(plain.id))!, false);
      assert.equal(await cli('client', 'show', plain.id), 0);
      assert.match(out.join('\n'), /\nback-channel logout:\s+\(none\)\n/);
    });

    test('client add refuses a bad URI with an error naming the flag, and writes nothing', async () => {
      const before = await registry().list();
      const cases: Array<[string, RegExp]> = [
        ['http://rp.example.org/bcl', /http is only allowed for localhost, 127\.0\.0\.1 or \[::1\]; use https/],
        ['http://localhost.evil.example/bcl', /http is only allowed for localhost/],
        ['https://rp.example.org/bcl#frag', /must not contain a fragment/],
        ['/bcl', /not an absolute URL/],
        ['rp.example.org/bcl', /not an absolute URL/],
        ['ftp://rp.example.org/bcl', /scheme ftp: is not allowed; use https/],
        ['https://user:pw@rp.example.org/bcl', /must not contain credentials/],
        ['https://rp.example.org/b cl', /must not contain spaces/],
      ];
      for (const [uri, reason] of cases) {
        assert.equal(await cli('client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--backchannel-logout-uri', uri), 1, uri);
        const message = err.join('\n');
        assert.match(message, /^The client was not registered:/);
        assert.ok(message.includes(`--backchannel-logout-uri ${uri}: `), message);
        assert.match(message, reason);
      }
      assert.equal(await cli('client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--backchannel-logout-session-required'), 1);
      assert.match(err.join('\n'), /--backchannel-logout-session-required needs a --backchannel-logout-uri/);
      for (const words of [
        ['--backchannel-logout-uri'],
        ['--backchannel-logout-uri', ''],
        ['--backchannel-logout-uri', 'https://x.example/bcl', '--backchannel-logout-session-required', 'yes'],
      ]) {
        assert.equal(await cli('client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', ...words), 2, words.join(' '));
        assert.match(err.join('\n'), /backchannel-logout/);
        assert.match(err.join('\n'), /Usage: npm run cli -- client add/);
      }
      assert.deepEqual(await registry().list(), before);
    });

    test('client set adds, changes and removes it; bad values change nothing', async () => {
      const added = await registry().add({ name: 'Grafana', redirectUris: ['https://grafana.example.org/cb'] });
      assert.ok(added.ok);
      const { id } = added.client;
      assert.equal(await cli('client', 'set', id, '--backchannel-logout-uri', 'https://grafana.example.org/bcl'), 0, err.join('\n'));
      assert.deepEqual([(await registry().get(id))?.backchannelLogoutUri, (await registry().get(id))?.backchannelLogoutSessionRequired], ['https://grafana.example.org/bcl', true], 'sid by default');
      assert.match(out.join('\n'), /back-channel logout:\s+https:\/\/grafana\.example\.org\/bcl \(sid required\)/);
      assert.equal(await cli('client', 'set', id, '--no-backchannel-logout-session-required'), 0, err.join('\n'));
      assert.equal((await registry().get(id))?.backchannelLogoutSessionRequired, false);
      assert.equal(await cli('client', 'set', id, '--name', 'Grafana 2'), 0);
      assert.deepEqual([(await registry().get(id))?.backchannelLogoutUri, (await registry().get(id))?.backchannelLogoutSessionRequired], ['https://grafana.example.org/bcl', false], 'other changes keep it');

      const before = await registry().get(id);
      assert.equal(await cli('client', 'set', id, '--name', 'Renamed', '--backchannel-logout-uri', 'http://grafana.example.org/bcl'), 1);
      assert.match(err.join('\n'), /^The client was not changed:\n {2}- --backchannel-logout-uri http:\/\/grafana\.example\.org\/bcl: http is only allowed/);
      assert.equal(await cli('client', 'set', id, '--backchannel-logout-uri', '', '--backchannel-logout-session-required'), 1);
      assert.match(err.join('\n'), /--backchannel-logout-session-required needs a --backchannel-logout-uri/);
      for (const words of [['--backchannel-logout-uri'], ['--no-backchannel-logout-session-required', 'x'], ['--backchannel-logout-session-required', '--no-backchannel-logout-session-required']]) {
        assert.equal(await cli('client', 'set', id, ...words), 2, words.join(' '));
        assert.match(err.join('\n'), /Usage: npm run cli -- client set/);
      }
      assert.deepEqual(await registry().get(id), before);

      assert.equal(await cli('client', 'set', id, '--backchannel-logout-uri', ''), 0, err.join('\n'));
      const removed = (await registry().get(id))!;
      assert.equal('backchannelLogoutUri' in removed || 'backchannelLogoutSessionRequired' in removed, false, 'removing the URI removes the sid requirement too');
      assert.equal('backchannel_logout_uri' in (await new ClientAdapter(registry()).find(id))!, false);
    });
  });

  describe('client set', () => {
    const registry = () => clientRegistry(store, box, systemClock);
    async function confidential(): Promise<{ id: string; secret: string }> {
      const added = await registry().add({ name: 'Grafana', redirectUris: ['https://grafana.example.org/cb'], postLogoutRedirectUris: ['https://grafana.example.org/bye'] });
      assert.ok(added.ok && added.secret);
      return { id: added.client.id, secret: added.secret };
    }

    test('changes the registration in place: same client_id and secret, visible in show, used by the provider', async () => {
      const { id, secret } = await confidential();
      const before = (await registry().get(id))!;
      const code = await cli('client', 'set', id, '--name', 'Grafana 2', '--redirect-uri', 'https://grafana.example.org/cb2', '--redirect-uri', 'http://localhost:3000/cb https://grafana.example.org/cb2',
        '--post-logout-redirect-uri', '', '--scopes', 'openid email', '--policy', 'permit-everyone-require-mfa', '--allow-password-change', '--id-token-alg', 'ES256');
      assert.equal(code, 0, err.join('\n'));
      assert.doesNotMatch(out.join('\n'), /client_secret:/);
      const after = (await registry().get(id))!;
      assert.deepEqual(after, {
        ...before,
        name: 'Grafana 2',
        redirectUris: ['https://grafana.example.org/cb2', 'http://localhost:3000/cb'],
        postLogoutRedirectUris: [],
        scopes: ['openid', 'email'],
        policy: 'permit-everyone-require-mfa',
        allowPasswordChange: true,
        idTokenSignedResponseAlg: 'ES256',
      });
      assert.equal(registry().secretOf(after), secret, 'the secret stays');
      assert.deepEqual(relyingPartySettings(after), { policy: 'permit-everyone-require-mfa', allowPasswordChange: true });
      const metadata = await new ClientAdapter(registry()).find(id);
      assert.deepEqual([metadata?.client_name, metadata?.redirect_uris, metadata?.scope, metadata?.id_token_signed_response_alg], ['Grafana 2', after.redirectUris, 'openid email', 'ES256']);

      assert.equal(await cli('client', 'show', id), 0);
      assert.match(out.join('\n'), /name:\s+Grafana 2[\s\S]*redirect URIs:\s+https:\/\/grafana\.example\.org\/cb2 http:\/\/localhost:3000\/cb\npost-logout redirect URIs: \(none\)\nscopes:\s+openid email[\s\S]*ID Token algorithm:\s+ES256\npolicy:\s+permit-everyone-require-mfa\npassword change:\s+allowed/);

      // Only the options given change.
      assert.equal(await cli('client', 'set', id, '--no-allow-password-change'), 0);
      assert.deepEqual(await registry().get(id), { ...after, allowPasswordChange: false });
    });

    test('invalid values, an unknown policy and an unknown client_id are refused with every problem listed and nothing written', async () => {
      const { id } = await confidential();
      const before = await registry().list();
      assert.equal(await cli('client', 'set', id, '--name', 'Renamed', '--redirect-uri', 'http://app.example.org/cb https://app.example.org/cb#x', '--post-logout-redirect-uri', '/bye', '--scopes', 'profile offline_access'), 1);
      const problems = err.join('\n');
      assert.match(problems, /^The client was not changed:/);
      for (const expected of [/redirect URI http:\/\/app\.example\.org\/cb: .*http is only allowed for localhost/, /redirect URI https:\/\/app\.example\.org\/cb#x: .*fragment/, /post-logout redirect URI \/bye:/, /unknown scope\(s\): offline_access/, /must include openid/]) {
        assert.match(problems, expected);
      }
      assert.equal(await cli('client', 'set', id, '--name', 'Renamed', '--redirect-uri', ''), 1);
      assert.match(err.join('\n'), /at least one --redirect-uri is required/);
      assert.equal(await cli('client', 'set', id, '--name', 'Renamed', '--policy', 'nope'), 1);
      assert.match(err.join('\n'), /No policy named "nope"/);
      assert.equal(await cli('client', 'set', 'no-such-client', '--name', 'Renamed'), 1);
      assert.match(err.join('\n'), /No OpenID Connect client no-such-client\./);
      assert.equal(await cli('client', 'set', 'no-such-client', '--rotate-secret'), 1);
      assert.deepEqual(await registry().list(), before);

      const outcome = await registry().update(id, { redirectUris: ['javascript:alert(1)'], scopes: [] });
      assert.ok(!outcome.ok && outcome.problems.length === 2, JSON.stringify(outcome));
      assert.deepEqual(await registry().update('no-such-client', { name: 'X' }), { ok: false, problems: ['no OpenID Connect client no-such-client'], notFound: true });
      assert.deepEqual(await registry().list(), before);
    });

    test('a client whose stored secret does not open with this key is unknown to the provider (invalid_client), with an error naming it, not a server error', async () => {
      const { id } = await confidential();
      const lines: Array<Record<string, unknown>> = [];
      const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
      const otherKey = clientRegistry(store, new SecretBox(randomBytes(32)), systemClock);
      assert.equal(await new ClientAdapter(otherKey, logger).find(id), undefined);
      assert.ok(lines.some((line) => line.code === 'OIDC_CLIENT_SECRET_UNREADABLE' && line.clientId === id && /--rotate-secret/.test(String(line.msg))));
    });

    test('--rotate-secret prints a new secret once; the old one no longer works', async () => {
      const { id, secret: oldSecret } = await confidential();
      const before = (await registry().get(id))!;
      assert.equal(await cli('client', 'set', id, '--rotate-secret', '--name', 'Grafana rotated'), 0, err.join('\n'));
      const newSecret = /client_secret:\s+(\S+)/.exec(out.join('\n'))![1]!;
      assert.notEqual(newSecret, oldSecret);
      const after = (await registry().get(id))!;
      assert.equal(after.name, 'Grafana rotated');
      assert.notEqual(after.sealedSecret, before.sealedSecret);
      assert.equal(registry().secretOf(after), newSecret, 'the sealed secret opens to the new one');
      assert.notEqual(registry().secretOf(after), oldSecret);
      assert.equal((await new ClientAdapter(registry()).find(id))?.client_secret, newSecret, 'the provider checks the new secret');
      await store.close();
      for (const file of await readdir(dir)) assert.ok(!(await readFile(join(dir, file), 'utf8')).includes(newSecret), `${file} holds the new secret in clear`);
      store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(box) }).open();
      assert.equal(await cli('client', 'show', id), 0);
      assert.ok(!out.join('\n').includes(newSecret));
    });

    test('a public client has no secret to rotate; nothing is written', async () => {
      const added = await registry().add({ name: 'SPA', public: true, redirectUris: ['http://localhost:5173/cb'] });
      assert.ok(added.ok);
      assert.equal(await cli('client', 'set', added.client.id, '--name', 'SPA 2', '--rotate-secret'), 1);
      assert.match(err.join('\n'), /public client: it has no secret to rotate/);
      // The store hands back records as its JSON file holds them (unset fields absent).
      assert.deepEqual(await registry().get(added.client.id), JSON.parse(JSON.stringify(added.client)));
      assert.deepEqual(await registry().rotateSecret(added.client.id), { ok: false, problems: ['a public client has no secret to rotate'] });
    });

    test('usage errors exit with 2', async () => {
      const { id } = await confidential();
      const before = await registry().get(id);
      for (const words of [
        ['client', 'set'],
        ['client', 'set', id],
        ['client', 'set', id, 'other', '--name', 'X'],
        ['client', 'set', id, '--rotate-secret', 'yes'],
        ['client', 'set', id, '--policy'],
        ['client', 'set', id, '--redirect-uri'],
        ['client', 'set', id, '--id-token-alg', 'HS256'],
        ['client', 'set', id, '--allow-password-change', '--no-allow-password-change'],
        ['client', 'set', id, '--public'],
      ]) {
        assert.equal(await cli(...words), 2, words.join(' '));
        assert.match(err.join('\n'), /Usage: npm run cli -- client set/);
      }
      assert.deepEqual(await registry().get(id), before);
    });
  });
});

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { redirectUriProblem } from '../../src/oidc/redirect-uri.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { clientCommands } from '../../src/cli/commands/client.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
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
    ];
    for (const [uri, accepted] of cases) assert.equal(redirectUriProblem(uri) === undefined, accepted, `${uri}: ${redirectUriProblem(uri)}`);
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
    store = await new LowdbStore(dir, systemClock).open();
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
    store = await new LowdbStore(dir, systemClock).open();

    assert.equal(await cli('client', 'show', id), 0);
    assert.match(out.join('\n'), /confidential/);
    assert.ok(!out.join('\n').includes(secret));
    assert.equal(await cli('client', 'list'), 0);
    assert.match(out.join('\n'), new RegExp(`${id}\\s+confidential\\s+Wiki`));
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
    assert.match(err.join('\n'), /Usage: client add/);
    assert.equal(await cli('client', 'add', '--name', 'X', '--public', '--auth-method', 'post', '--redirect-uri', 'https://x.example/cb'), 1);
  });

  test('client remove, and help for every command', async () => {
    const added = await clientRegistry(store, box, systemClock).add({ name: 'Gone', redirectUris: ['https://gone.example/cb'] });
    assert.ok(added.ok);
    assert.equal(await cli('client', 'remove', added.client.id), 0);
    assert.equal(await cli('client', 'show', added.client.id), 1);
    assert.equal(await cli('client', 'remove', added.client.id), 1);
    for (const command of ['add', 'list', 'show', 'remove']) {
      assert.equal(await cli('client', command, '--help'), 0);
      assert.match(out.join('\n'), new RegExp(`Usage: client ${command}`));
    }
  });
});

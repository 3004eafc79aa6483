import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { cliProcess, type CliRun } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { authRequest, callbackOf, createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

const PASSWORD = 'Correct-horse-42';
const SECRET_KEY = randomBytes(32).toString('base64');

/** Back-channel logout endpoint of the test's OIDC client: records each Logout Token. */
class Receiver {
  readonly tokens: string[] = [];
  readonly #server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => (this.tokens.push(new URLSearchParams(body).get('logout_token') ?? ''), res.writeHead(200).end()));
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}/backchannel`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The subjects of the Logout Tokens received so far, each verified as a relying party must. */
  async subjects(app: Booted, rp: TestRp): Promise<string[]> {
    const jwks = createRemoteJWKSet(new URL(`${app.url}/oidc/jwks`));
    const subjects: string[] = [];
    for (const token of this.tokens) {
      const { payload } = await jwtVerify(token, jwks, { issuer: app.url, audience: rp.client.id, typ: 'logout+jwt' });
      assert.deepEqual(payload['events'], { 'http://schemas.openid.net/event/backchannel-logout': {} });
      subjects.push(String(payload.sub));
    }
    return subjects;
  }
}

function cli(app: Booted, ...words: string[]): Promise<CliRun> {
  return cliProcess(app, SECRET_KEY, words);
}

async function auditLines(app: Booted): Promise<Array<Record<string, unknown>>> {
  return (await readFile(join(app.dataDir, 'audit.log'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}


async function samlSignIn(browser: TestBrowser, sp: TestSp, username: string): Promise<void> {
  const page = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(page));
  assert.ok(samlPostForm(await browser.submit(page, { username, password: PASSWORD })).fields.SAMLResponse);
}

async function silentCode(rp: TestRp, browser: TestBrowser): Promise<string | null> {
  const request = await authRequest(rp, { prompt: 'none' });
  const callback = callbackOf(rp, await browser.get(request.url.toString()));
  return callback.searchParams.get('code') ?? callback.searchParams.get('error');
}

describe('administrators end SSO sessions with the CLI', () => {
  let app: Booted;
  const receiver = new Receiver();
  let rp: TestRp;
  let wiki: TestSp;
  const ids: Record<string, string> = {};

  before(async () => {
    await receiver.start();
    app = await boot({}, { secretKey: SECRET_KEY });
    for (const name of ['alice', 'bob', 'carol', 'dora']) ids[name] = await addLocalUser(app.services, name, PASSWORD);
    rp = await createRp(app, { backchannelLogoutUri: receiver.url });
    wiki = await TestSp.create(app, { name: 'wiki' });
  });
  after(async () => {
    await app?.close();
    await receiver.stop();
  });

  test('list, end one by handle, end a user\'s, refusals; the applications are told and the ended browser must sign in again', async () => {
    const laptop = rpBrowser();
    await samlSignIn(laptop, wiki, 'alice');
    const { tokens } = await signIn(rp, laptop, undefined);
    const phone = rpBrowser();
    await signIn(rp, phone, { username: 'alice', password: PASSWORD });
    const bobs = rpBrowser();
    await samlSignIn(bobs, wiki, 'bob');

    const all = await cli(app, 'session', 'list');
    assert.equal(all.code, 0);
    assert.equal(all.out.split('\n').length, 3);
    const stored = await app.services.store.kv.entries<SsoSession>('sso-session');
    for (const [id] of stored) assert.ok(!all.out.includes(id), 'a session id (the cookie value) is never shown');

    const alices = await cli(app, 'session', 'list', '--user', 'ALICE');
    const lines = alices.out.split('\n');
    assert.equal(lines.length, 2);
    const date = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d`;
    assert.match(lines[0]!, new RegExp(String.raw`^[A-Za-z0-9_-]{12}  alice  signed in ${date}  last seen ${date}  factors pwd  saml https://wiki\.sp\.test/metadata  oidc ${rp.client.id}$`), 'the laptop: SAML and OIDC');
    assert.match(lines[1]!, new RegExp(`  factors pwd  oidc ${rp.client.id}$`), 'the phone: OIDC only');
    const laptopHandle = lines[0]!.slice(0, 12);

    const ended = await cli(app, 'session', 'end', laptopHandle);
    assert.equal(ended.code, 0, ended.err);
    assert.match(ended.out, /^Ended 1 session\./);
    assert.match(ended.out, /Not told \(SAML logout needs the user's browser\).*https:\/\/wiki\.sp\.test\/metadata/);

    await until(() => receiver.subjects(app, rp), (subjects) => subjects.length === 1, 'the Logout Token');
    assert.deepEqual(await receiver.subjects(app, rp), [ids['alice']]);
    // The server reads the CLI's journal lines every half second.
    await until(() => sendAuthnRequest(laptop, wiki), isPasswordPage, 'the laptop to be asked for the password again');
    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    assert.notEqual(await silentCode(rp, phone), 'login_required', "alice's other session goes on");
    assert.ok(samlPostForm(await sendAuthnRequest(bobs, wiki)).fields.SAMLResponse, "bob's session goes on");

    const ofAlice = await cli(app, 'session', 'end', '--user', 'alice');
    assert.equal(ofAlice.code, 0);
    assert.match(ofAlice.out, /^Ended 1 session of alice\./);
    await until(() => silentCode(rp, phone), (answer) => answer === 'login_required', 'the phone to be signed out');
    await until(() => receiver.subjects(app, rp), (subjects) => subjects.length === 2, 'the second Logout Token');

    const events = (await auditLines(app)).filter((event) => event['type'] === 'session.ended');
    assert.equal(events.length, 2);
    assert.ok(events.every((event) => event['reason'] === 'administrator' && event['via'] === 'cli' && event['userId'] === ids['alice'] && /^[A-Za-z0-9_-]{12}$/.test(String(event['session']))));

    const again = await cli(app, 'session', 'end', '--user', 'alice');
    assert.deepEqual([again.code, again.err], [1, 'alice has no live session']);
    const unknown = await cli(app, 'session', 'end', 'AAAAAAAAAAAA');
    assert.deepEqual([unknown.code, unknown.err], [1, 'no live session has the handle AAAAAAAAAAAA']);
    for (const words of [['session', 'end'], ['session', 'end', laptopHandle, '--all'], ['session', 'end', '--user', 'bob', '--all']]) {
      const usage = await cli(app, ...words);
      assert.equal(usage.code, 2, words.join(' '));
      assert.match(usage.err, /exactly one of/);
    }
    assert.equal(await app.services.store.kv.count('sso-session'), 1, "only bob's session is left after the refusals");

    const everyone = await cli(app, 'session', 'end', '--all');
    assert.match(everyone.out, /^Ended 1 session\./);
    await until(() => sendAuthnRequest(bobs, wiki), isPasswordPage, "bob's browser to be asked for the password");
  });

  test('user disable ends the local user\'s sessions at once', async () => {
    const browser = rpBrowser();
    await signIn(rp, browser, { username: 'carol', password: PASSWORD });
    const before = receiver.tokens.length;
    const disabled = await cli(app, 'user', 'disable', 'carol');
    assert.equal(disabled.code, 0);
    assert.match(disabled.out, /Disabled carol\.\nEnded 1 SSO session\./);
    await until(() => silentCode(rp, browser), (answer) => answer === 'login_required', 'carol to be signed out');
    await until(async () => receiver.tokens.length, (count) => count === before + 1, "carol's Logout Token");
  });

  test('a password an administrator sets ends the user\'s sessions (set-password and update), and says so', async () => {
    const passwordFile = join(app.dataDir, 'dora.pw');
    const laptop = rpBrowser();
    await samlSignIn(laptop, wiki, 'dora');
    const { tokens } = await signIn(rp, laptop, undefined);
    const before = receiver.tokens.length;

    await writeFile(passwordFile, 'Another-horse-43\n', { mode: 0o600 });
    const set = await cli(app, 'user', 'set-password', 'dora', '--password-file', passwordFile);
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /^Password set for dora\.\nEnded 1 SSO session\.\n.*\nNot told \(SAML logout needs the user's browser\).*https:\/\/wiki\.sp\.test\/metadata$/);
    await until(() => sendAuthnRequest(laptop, wiki), isPasswordPage, "dora's browser to be asked for the password again");
    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    await until(async () => receiver.tokens.length, (count) => count === before + 1, "dora's Logout Token");
    const ended = (await auditLines(app)).filter((event) => event['type'] === 'session.ended' && event['userId'] === ids['dora']);
    assert.deepEqual(ended.map((event) => [event['reason'], event['via']]), [['password-set', 'cli']]);

    const phone = rpBrowser();
    await signIn(rp, phone, { username: 'dora', password: 'Another-horse-43' });
    await writeFile(passwordFile, 'Third-horse-44\n', { mode: 0o600 });
    const updated = await cli(app, 'user', 'update', 'dora', '--name', 'Dora D', '--password-file', passwordFile);
    assert.equal(updated.code, 0, updated.err);
    assert.match(updated.out, /^Updated dora\.\nGroups: none\nPassword set for dora\.\nEnded 1 SSO session\./);
    await until(() => silentCode(rp, phone), (answer) => answer === 'login_required', 'the phone to be signed out');

    const again = await cli(app, 'user', 'set-password', 'dora', '--password-file', join(app.dataDir, 'dora.pw'));
    assert.equal(again.code, 1, 'the same password again is refused (no reuse)');
    const first = await cli(app, 'user', 'update', 'dora', '--name', 'Dora Doe');
    assert.equal(first.out, 'Updated dora.\nGroups: none', 'no password, no word about sessions');
    await writeFile(passwordFile, 'Fourth-horse-45\n', { mode: 0o600 });
    const none = await cli(app, 'user', 'set-password', 'dora', '--password-file', passwordFile);
    assert.equal(none.out, 'Password set for dora.\ndora had no live SSO session to end.');
    await rm(passwordFile);
  });
});

test('sessions ended while the server is down: their clients are told when it starts again', async () => {
  const receiver = new Receiver();
  await receiver.start();
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-test-'));
  let app = await boot({}, { secretKey: SECRET_KEY, dataDir });
  try {
    const aliceId = await addLocalUser(app.services, 'alice', PASSWORD);
    const rp = await createRp(app, { backchannelLogoutUri: receiver.url });
    await signIn(rp, rpBrowser(), { username: 'alice', password: PASSWORD });
    await app.close();

    const ended = await cli(app, 'session', 'end', '--user', 'alice');
    assert.equal(ended.code, 0, ended.err);
    assert.equal(receiver.tokens.length, 0, 'nobody to tell them yet');

    app = await boot({}, { secretKey: SECRET_KEY, dataDir });
    await until(async () => receiver.tokens.length, (count) => count === 1, 'the Logout Token after the restart');
    const { payload } = await jwtVerify(receiver.tokens[0]!, createRemoteJWKSet(new URL(`${app.url}/oidc/jwks`)), { issuer: app.url, audience: rp.client.id, typ: 'logout+jwt' });
    assert.equal(payload.sub, aliceId);
  } finally {
    await app.close();
    await receiver.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a session an earlier command ended is not ended or audited again while the server has yet to take it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-test-'));
  const app = await boot({}, { secretKey: SECRET_KEY, dataDir });
  try {
    await addLocalUser(app.services, 'alice', PASSWORD);
    const rp = await createRp(app);
    await signIn(rp, rpBrowser(), { username: 'alice', password: PASSWORD });
    // Stopped, the server takes no notice: the moment between a command and the server's next poll, held open.
    await app.close();

    assert.equal((await cli(app, 'session', 'end', '--user', 'alice')).code, 0);
    const again = await cli(app, 'session', 'end', '--user', 'alice');
    assert.deepEqual({ code: again.code, err: again.err.trim() }, { code: 1, err: 'alice has no live session' });
    assert.equal((await cli(app, 'session', 'list')).err.trim(), 'no live sessions');
    assert.equal((await cli(app, 'user', 'disable', 'alice')).out.split('\n')[1], 'alice had no live SSO session to end.');
    assert.equal((await auditLines(app)).filter((event) => event.type === 'session.ended').length, 1, 'the session is audited as ended once');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a session in use at the moment it is ended stays ended after a restart (the server alone removes sessions)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-test-'));
  let app = await boot({}, { secretKey: SECRET_KEY, dataDir });
  try {
    await addLocalUser(app.services, 'alice', PASSWORD);
    const [wiki, intranet] = await Promise.all([TestSp.create(app, { name: 'wiki' }), TestSp.create(app, { name: 'intranet' })]);
    const browser = rpBrowser();
    await samlSignIn(browser, wiki, 'alice');

    const ended = await cli(app, 'session', 'end', '--user', 'alice');
    assert.equal(ended.code, 0, ended.err);
    // At once, before the server has read the CLI's notice: this reuse writes the session (a new participant).
    assert.ok(samlPostForm(await sendAuthnRequest(browser, intranet)).fields.SAMLResponse);
    await until(() => app.services.store.kv.count('sso-session'), (count) => count === 0, 'the server to end the session');

    const { port } = app;
    await app.close();
    app = await boot({}, { secretKey: SECRET_KEY, dataDir, port });
    assert.equal(await app.services.store.kv.count('sso-session'), 0, 'not written back by the reuse');
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, wiki)));
  } finally {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

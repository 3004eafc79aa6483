import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * `user remove` ends the user's SSO sessions as `session end --user` does (README, CLI help): it says
 * so, the OIDC clients get their Logout Token straight away (not only once the browser comes back),
 * the SAML SPs it cannot tell are named, and the end is audited as session.ended, reason account-removed.
 */
const PASSWORD = 'Correct-horse-42';
const SECRET_KEY = randomBytes(32).toString('base64');
const receiver = new BackchannelReceiver();
let app: Booted;
let rp: TestRp;
let wiki: TestSp;
let backchannelUri: string;

before(async () => {
  await receiver.start();
  app = await boot({}, { secretKey: SECRET_KEY });
  backchannelUri = receiver.endpoint();
  rp = await createRp(app, { backchannelLogoutUri: backchannelUri });
  wiki = await TestSp.create(app, { name: 'wiki' });
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

async function samlSignIn(browser: TestBrowser, username: string): Promise<void> {
  const page = await sendAuthnRequest(browser, wiki);
  assert.ok(isPasswordPage(page));
  assert.ok(samlPostForm(await browser.submit(page, { username, password: PASSWORD })).fields.SAMLResponse);
}

async function logoutTokenSubjects(): Promise<string[]> {
  const jwks = createRemoteJWKSet(new URL(`${app.url}/oidc/jwks`));
  const subjects: string[] = [];
  for (const token of receiver.tokensAt(backchannelUri)) {
    const { payload } = await jwtVerify(token, jwks, { issuer: app.url, audience: rp.client.id, typ: 'logout+jwt' });
    subjects.push(String(payload.sub));
  }
  return subjects;
}

const auditLines = async () => (await readFile(join(app.dataDir, 'audit.log'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

test('user remove ends the user\'s SSO sessions at once: said, Logout Token sent before the browser returns, audited', async () => {
  const aliceId = await addLocalUser(app.services, 'alice', PASSWORD);
  const bobId = await addLocalUser(app.services, 'bob', PASSWORD);
  const laptop = rpBrowser();
  await samlSignIn(laptop, 'alice');
  const { tokens } = await signIn(rp, laptop, undefined);
  const bobs = rpBrowser();
  await samlSignIn(bobs, 'bob');

  const removed = await cliProcess(app, SECRET_KEY, ['user', 'remove', 'alice']);
  assert.equal(removed.code, 0, removed.err);
  assert.match(removed.out, /^Removed alice\.\nEnded 1 SSO session\./);
  assert.match(removed.out, /Not told \(SAML logout needs the user's browser\).*https:\/\/wiki\.sp\.test\/metadata/);

  // Nothing of alice's reaches the server in between: the removal alone has to tell the client.
  await until(logoutTokenSubjects, (subjects) => subjects.length === 1, "alice's Logout Token");
  assert.deepEqual(await logoutTokenSubjects(), [aliceId]);
  await until(() => sendAuthnRequest(laptop, wiki), isPasswordPage, 'the laptop to be asked for the password again');
  await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.ok(samlPostForm(await sendAuthnRequest(bobs, wiki)).fields.SAMLResponse, "bob's session goes on");

  const ended = (await auditLines()).filter((event) => event['type'] === 'session.ended');
  assert.deepEqual(ended.map((event) => [event['userId'], event['reason'], event['via']]), [[aliceId, 'account-removed', 'cli']]);
  assert.ok(!ended.some((event) => event['userId'] === bobId));
});

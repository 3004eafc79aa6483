import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { cliProcess, type CliRun } from '../helpers/cli.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { until } from '../helpers/until.ts';
import type { LoadedKey } from '../../src/keys/signing-keys.ts';
import { TestSp, assertXmlsecVerifies, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';

const PASSWORD = 'Correct-horse-42';
const SECRET_KEY = randomBytes(32).toString('base64');
let app: Booted;
let rp: TestRp;
let sp: TestSp;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  await addLocalUser(app.services, 'alice', PASSWORD);
  rp = await createRp(app);
  sp = await TestSp.create(app, { name: 'rotation', register: { sign: 'both' } });
});
after(async () => {
  await app?.close();
});

function keys(...words: string[]): Promise<CliRun> {
  return cliProcess(app, SECRET_KEY, ['keys', ...words]);
}

/**
 * The running server has seen what the CLI wrote: its key service (which looks at db.json and the
 * keys at most once a second) lists these statuses. Read in-process, not through /oidc/*, so the
 * provider itself is left to notice on its own.
 */
async function serverSees(expected: Record<string, LoadedKey['status'] | 'removed'>): Promise<void> {
  const sees = (keys: LoadedKey[]) => Object.entries(expected).every(([id, status]) => (keys.find((key) => key.id === id)?.status ?? 'removed') === status);
  await until(() => app.services.keys.all(), sees, `the server to see ${JSON.stringify(expected)}`);
}

async function jwks(): Promise<jose.JSONWebKeySet> {
  return (await (await fetch(`${app.url}/oidc/jwks`)).json()) as jose.JSONWebKeySet;
}

/** Signs in at the OIDC client and returns the ID Token's kid, after verifying the token against the published JWKS. */
async function oidcSigningKid(): Promise<string> {
  const { tokens } = await signIn(rp, rpBrowser(), { username: 'alice', password: PASSWORD });
  const { protectedHeader } = await jose.jwtVerify(tokens.id_token!, jose.createLocalJWKSet(await jwks()), { issuer: app.url, audience: rp.client.id });
  return protectedHeader.kid!;
}

/** The certificates the IdP metadata publishes for signing (its KeyDescriptors, not the metadata's own signature). */
async function publishedCertificates(): Promise<string[]> {
  const xml = await (await fetch(`${app.url}/saml/metadata`)).text();
  return [...xml.matchAll(/<md:KeyDescriptor use="signing">.*?<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map((match) => match[1]!);
}

const bodyOf = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

async function samlResponseXml(): Promise<string> {
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(page));
  return Buffer.from(samlPostForm(await browser.submit(page, { username: 'alice', password: PASSWORD })).fields.SAMLResponse!, 'base64').toString('utf8');
}

test('key rotation with the CLI reaches the running server: publish, activate, retire, remove', async () => {
  const initial = (await app.services.keys.all()).filter((key) => key.status === 'active');
  const oldRsa = initial.find((key) => key.alg === 'RS256')!;
  assert.equal(initial.length, 2, 'an active RS256 and ES256 key after first start');
  assert.equal(await oidcSigningKid(), oldRsa.id);

  const added = await keys('add', '--alg', 'RS256');
  assert.equal(added.code, 0, added.err);
  const newId = /key (\S+) \(next\)/.exec(added.out)![1]!;
  const again = await keys('add', '--alg', 'RS256');
  assert.equal(again.code, 1);
  assert.match(again.err, new RegExp(`already waiting to be activated: ${newId}`));
  assert.match((await keys('list')).out, new RegExp(`${newId}  RS256  next`));

  await serverSees({ [newId]: 'next', [oldRsa.id]: 'active' });
  assert.ok((await jwks()).keys.some((key) => key.kid === newId), 'published before it signs');
  assert.equal((await publishedCertificates()).length, 2, 'SAML metadata lists the next certificate too');
  assert.equal(await oidcSigningKid(), oldRsa.id, 'the old key still signs');

  const activated = await keys('activate', newId);
  assert.equal(activated.code, 0, activated.err);
  assert.match(activated.out, new RegExp(`${oldRsa.id} is retired`));
  await serverSees({ [newId]: 'active', [oldRsa.id]: 'retired' });
  assert.equal(await oidcSigningKid(), newId, 'ID Tokens are signed with the new key');
  const newCertificate = (await app.services.keys.active('RS256')).certificatePem!;
  assert.equal((await app.services.keys.active('RS256')).id, newId);
  const response = await samlResponseXml();
  assert.ok(response.includes(bodyOf(newCertificate)), 'the SAML signature names the new certificate');
  await assertXmlsecVerifies(response, newCertificate);
  assert.ok((await jwks()).keys.some((key) => key.kid === oldRsa.id), 'the retired key stays published for tokens it signed');
  assert.match(activated.out, /still in the JWKS, no longer in the SAML metadata/, 'the CLI says where the retired key is still published');
  assert.deepEqual(await publishedCertificates(), [bodyOf(newCertificate)], 'SAML metadata lists only the signing certificate once the old one is retired');

  // Refusals change nothing.
  for (const [words, message] of [
    [['remove', newId], /is active; only a retired key, or a waiting one \(next\), can be removed/],
    [['activate', oldRsa.id], /is retired; only a key added with "keys add"/],
    [['activate', 'no-such-key'], /no signing key no-such-key/],
    [['remove', 'no-such-key'], /no signing key no-such-key/],
  ] as const) {
    const refused = await keys(...words);
    assert.equal(refused.code, 1, words.join(' '));
    assert.match(refused.err, message);
  }
  assert.equal((await keys('add', '--alg', 'HS256')).code, 2, 'an unknown algorithm is a usage error');
  assert.equal(await oidcSigningKid(), newId);

  // Before sessions from before the rotation have ended: see keys-r7-remove-hold.test.ts.
  const removed = await keys('remove', oldRsa.id, '--force');
  assert.equal(removed.code, 0, removed.err);
  await serverSees({ [oldRsa.id]: 'removed' });
  assert.ok(!(await jwks()).keys.some((key) => key.kid === oldRsa.id), 'a removed key is no longer published');
  const steps = (await app.services.store.audit.query({ limit: 50 })).events.filter((event) => String(event.type).startsWith('keys.')).map((event) => [event.type, event.keyId]);
  assert.deepEqual(steps, [['keys.add', newId], ['keys.activate', newId], ['keys.remove', oldRsa.id]], 'each step is audited once; refusals are not');
  assert.deepEqual(await publishedCertificates(), [bodyOf(newCertificate)], 'SAML metadata publishes only the active certificate');
});

test("a logout right after a rotation, with no request to /oidc/* since, sends Logout Tokens signed with a key the JWKS publishes", async () => {
  const receiver = new BackchannelReceiver();
  await receiver.start();
  try {
    const uri = receiver.endpoint();
    const client = await createRp(app, { backchannelLogoutUri: uri, backchannelLogoutSessionRequired: true });
    const browser = rpBrowser();
    await signIn(client, browser, { username: 'alice', password: PASSWORD });
    const before = (await app.services.keys.active('RS256')).id;
    const added = await keys('add', '--alg', 'RS256');
    const next = /key (\S+) \(next\)/.exec(added.out)![1]!;
    assert.equal((await keys('activate', next)).code, 0);
    assert.equal((await keys('remove', before, '--force')).code, 0);
    await serverSees({ [next]: 'active', [before]: 'removed' });

    // Stepgate's own logout page: not an /oidc/* request.
    await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
    const [token] = await until(async () => receiver.tokensAt(uri), (tokens) => tokens.length > 0, 'the Logout Token');
    const { protectedHeader } = await jose.jwtVerify(token!, jose.createLocalJWKSet(await jwks()), { issuer: app.url, audience: client.client.id, typ: 'logout+jwt' });
    assert.equal(protectedHeader.kid, next, 'signed with the key active now');
  } finally {
    await receiver.stop();
  }
});

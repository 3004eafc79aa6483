import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { withoutSecretKey } from '../helpers/env.ts';
import { createTestCa, type TestCa } from '../helpers/tls-ca.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import type { ServiceProviderRecord } from '../../src/saml/sp-types.ts';
import { DEFAULT_SAML_ATTRIBUTES } from '../../src/rp/claims.ts';
import { captureOutput, waitForExit } from '../helpers/child-exit.ts';

x509.cryptoProvider.set(webcrypto as never);

const PASSWORD = 'Rollover-pass-2026';
const SECRET_KEY = randomBytes(32).toString('base64');
let app: Booted;
let work: string;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  work = await mkdtemp(join(tmpdir(), 'stepgate-sp-update-'));
  await addLocalUser(app.services, 'alice', PASSWORD, { addGroups: ['staff'] });
  assert.ok((await app.services.policies.save({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'], message: 'Staff only.' } })).ok);
});
after(async () => {
  await app?.close();
  await rm(work, { recursive: true, force: true });
});

const cli = (...words: string[]) => cliProcess(app, SECRET_KEY, words);
const registry = () => createSpRegistry(app.services.store, app.services.clock);

/** An SP key and its self-signed certificate, as an SP rolling its key over makes a new one. */
async function spKey(name: string): Promise<{ keyPem: string; certPem: string; body: string }> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '02', name: `CN=${name}`, notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 2 * 365 * 86_400_000), keys: keys as never, signingAlgorithm: algorithm });
  const keyPem = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { keyPem, certPem: certificate.toString('pem'), body: certificate.toString('base64') };
}

const keyDescriptor = (use: string, body: string) => `<KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>`;
const withSigningKey = (metadata: string, body: string) => metadata.replace('<SingleLogoutService', `${keyDescriptor('signing', body)}<SingleLogoutService`);

async function file(name: string, content: string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, content);
  return path;
}

/** The SP as a CLI process reads it from the data directory: what is written, whether or not the server has read it yet. */
async function shown(entityId: string): Promise<string> {
  return (await cli('sp', 'show', entityId)).out;
}

/** The running server has read what the CLI wrote. */
function serverSees(entityId: string, ok: (sp: ServiceProviderRecord | undefined) => boolean): Promise<ServiceProviderRecord | undefined> {
  return until(() => registry().get(entityId), ok, `the server to see the change to ${entityId}`);
}

async function spSetEvents(entityId: string): Promise<Array<Record<string, unknown>>> {
  return (await app.services.store.audit.query({ types: ['sp.set'], limit: 100 })).events.filter((event) => event.rp === entityId);
}

describe('sp set --metadata: an SP rolls its signing key over, and keeps its settings', () => {
  let sp: TestSp;
  let next: Awaited<ReturnType<typeof spKey>>;
  const browser = new TestBrowser();
  let nameId: string;
  let sessionIndex: string;

  before(async () => {
    sp = await TestSp.create(app, { name: 'rollover', register: { name: 'Wiki', policy: 'staff-only', sign: 'both', nameId: 'persistent', allowPasswordChange: true } });
    await registry().update(sp.entityId, { settings: { attributes: DEFAULT_SAML_ATTRIBUTES.slice(0, 2) } });
    next = await spKey('rollover B');
    const page = await sendAuthnRequest(browser, sp);
    assert.ok(isPasswordPage(page));
    const { profile } = await sp.validate(samlPostForm(await browser.submit(page, { username: 'alice', password: PASSWORD })).fields.SAMLResponse!);
    nameId = profile!.nameID;
    sessionIndex = profile!.sessionIndex!;
  });

  test('sp add of the new metadata is refused and points to sp set --metadata', async () => {
    const before = await shown(sp.entityId);
    const added = await cli('sp', 'add', await file('rollover-ab.xml', withSigningKey(sp.metadataXml, next.body)), '--name', 'Renamed');
    assert.equal(added.code, 1);
    assert.match(added.err, /already registered; to load its new metadata and keep its settings, use sp set https:\/\/rollover\.sp\.test\/metadata --metadata <file or https URL>/);
    assert.equal(await shown(sp.entityId), before);
  });

  test('the new metadata is loaded in place: what changed is printed and audited, every setting stays', async () => {
    const before = (await registry().get(sp.entityId))!;
    const set = await cli('sp', 'set', sp.entityId, '--metadata', join(work, 'rollover-ab.xml'));
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /^Updated SAML SP https:\/\/rollover\.sp\.test\/metadata\.\nMetadata changes:\n  added signing certificate: CN=rollover B, expires \d{4}-\d\d-\d\d, SHA-256 [0-9A-F:]+\nentityID: /);
    assert.match(set.out, /name:       Wiki[\s\S]*policy:     staff-only/);
    const after = (await serverSees(sp.entityId, (record) => record?.signingCertificates.length === 2))!;
    assert.deepEqual([after.name, after.settings, after.createdAt, after.acs, after.slo], [before.name, before.settings, before.createdAt, before.acs, before.slo], 'name, settings and endpoints stay');
    assert.ok(after.updatedAt > before.updatedAt);
    const [event] = await spSetEvents(sp.entityId);
    assert.deepEqual([event?.changed, event?.certificatesAdded, event?.certificatesRemoved, event?.endpointsAdded, event?.via], [['metadata'], [`signing ${after.signingCertificates[1]!.fingerprint256}`], [], [], 'cli']);
  });

  test('the browser signed in before is answered for a request signed with the new key, with the same NameID; its logout signed with the new key ends the session', async () => {
    const withNewKey = sp.client({ privateKey: next.keyPem, publicCert: next.certPem });
    const page = await browser.get(await withNewKey.getAuthorizeUrlAsync('', undefined, {}));
    assert.ok(!isPasswordPage(page), 'the SSO session from before the update answers');
    const { profile } = await sp.validate(samlPostForm(page).fields.SAMLResponse!);
    assert.equal(profile!.nameID, nameId);

    const logout = await withNewKey.getLogoutUrlAsync({ issuer: sp.entityId, nameID: nameId, nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', sessionIndex, nameQualifier: `${app.url}/saml/metadata`, spNameQualifier: sp.entityId } as never, '', {});
    const answer = samlPostForm(await browser.get(logout));
    assert.equal(answer.action, sp.sloUrl);
    assert.match(Buffer.from(answer.fields.SAMLResponse!, 'base64').toString('utf8'), /status:Success"\/?>/);
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, sp)), 'signed out: the next sign-in asks for the password');
  });

  test('metadata with only the new key and another ACS: the removed key and the added ACS are printed, and the old key is no longer accepted', async () => {
    const onlyNext = withSigningKey(sp.metadataXml, next.body)
      .replace(/<KeyDescriptor use="signing">\s*<ds:KeyInfo>\s*<ds:X509Data>\s*<ds:X509Certificate>[^<]*<\/ds:X509Certificate>\s*<\/ds:X509Data>\s*<\/ds:KeyInfo>\s*<\/KeyDescriptor>/, '')
      .replace('</SPSSODescriptor>', `<AssertionConsumerService index="2" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://rollover.sp.test/acs2"/></SPSSODescriptor>`);
    const set = await cli('sp', 'set', sp.entityId, '--metadata', await file('rollover-b.xml', onlyNext));
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /\n  removed signing certificate: CN=rollover\.sp\.test, [^\n]*\n  added ACS #2: HTTP-POST https:\/\/rollover\.sp\.test\/acs2\n/);
    await serverSees(sp.entityId, (record) => record?.acs.length === 2);
    const refused = await sendAuthnRequest(new TestBrowser(), sp);
    assert.equal(refused.status, 400, 'a request signed with the removed key');
    const withNewKey = sp.client({ privateKey: next.keyPem, publicCert: next.certPem });
    assert.ok(isPasswordPage(await new TestBrowser().get(await withNewKey.getAuthorizeUrlAsync('', undefined, {}))));
  });
});

describe('sp set --metadata refuses what sp add would refuse, and writes nothing', () => {
  let sp: TestSp;
  let encrypted: TestSp;

  before(async () => {
    sp = await TestSp.create(app, { name: 'refusals' });
    encrypted = await TestSp.create(app, { name: 'encrypted', encryption: true });
  });

  test('another entityID, metadata sp add refuses, a folder, a missing file, and encryption with no certificate left', async () => {
    // Every command below also renames the SP: a write of any kind would show.
    const records = async () => [await shown(sp.entityId), await shown(encrypted.entityId)];
    const before = await records();
    const eventsBefore = (await app.services.store.audit.query({ types: ['sp.set'], limit: 100 })).events.length;
    const folder = join(work, 'a-folder');
    await mkdir(folder, { recursive: true });
    const cases: Array<[string, string, RegExp]> = [
      [sp.entityId, await file('other-entity.xml', sp.metadataXml.replaceAll('refusals.sp.test', 'other.sp.test')), /The change was refused: the metadata is for entityID https:\/\/other\.sp\.test\/metadata, not https:\/\/refusals\.sp\.test\/metadata; an SP's entityID cannot change \(sp add registers another SP\)\./],
      [sp.entityId, await file('no-post-acs.xml', sp.metadataXml.replace('bindings:HTTP-POST" Location="https://refusals.sp.test/acs"', 'bindings:HTTP-Artifact" Location="https://refusals.sp.test/acs"')), /The metadata was refused: no AssertionConsumerService with the HTTP-POST binding/],
      [sp.entityId, await file('doctype.xml', `<!DOCTYPE x>${sp.metadataXml.replace('<?xml version="1.0"?>', '')}`), /The metadata was refused: it contains a DOCTYPE/],
      [sp.entityId, folder, /a-folder is a folder, not a metadata file\./],
      [sp.entityId, join(work, 'missing.xml'), /cannot read .*missing\.xml \(ENOENT\)/],
      [encrypted.entityId, await file('no-encryption.xml', encrypted.metadataXml.replace(/<KeyDescriptor use="encryption">[\s\S]*?<\/KeyDescriptor>/, '')), /The change was refused: this SP's assertions are encrypted, and the new metadata has no certificate to encrypt them with; add --no-encrypt to send them unencrypted\./],
    ];
    for (const [entityId, source, message] of cases) {
      const set = await cli('sp', 'set', entityId, '--metadata', source, '--name', 'Renamed');
      assert.equal(set.code, 1, source);
      assert.match(set.err, message, source);
    }
    assert.deepEqual(await records(), before, 'nothing written');
    assert.equal((await app.services.store.audit.query({ types: ['sp.set'], limit: 100 })).events.length, eventsBefore, 'nothing audited');

    // Asked together, the same metadata is loaded with encryption turned off.
    const plain = await cli('sp', 'set', encrypted.entityId, '--metadata', join(work, 'no-encryption.xml'), '--no-encrypt');
    assert.equal(plain.code, 0, plain.err);
    assert.match(plain.out, /removed encryption certificate: CN=encrypted\.sp\.test/);
    const after = (await serverSees(encrypted.entityId, (record) => record?.settings.encryptAssertions === false))!;
    assert.deepEqual([after.settings.encryptAssertions, after.encryptionCertificate, after.encryptionCertificates], [false, undefined, undefined]);
    assert.deepEqual((await spSetEvents(encrypted.entityId)).at(-1)?.changed, ['encryptAssertions', 'metadata']);
  });

  test('metadata the same as registered: nothing to print but that', async () => {
    const set = await cli('sp', 'set', sp.entityId, '--metadata', await file('same.xml', sp.metadataXml));
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /^SAML SP https:\/\/refusals\.sp\.test\/metadata has those settings already, and this metadata; nothing changed\.\nMetadata: no certificate or endpoint changed\.\n/);
  });

  test('the help of sp set, sp add and sp remove names sp set --metadata', async () => {
    assert.match((await cli('sp', 'set', '--help')).out, /--metadata FILE\|URL +the SP's new metadata[\s\S]*--metadata https:\/\/wiki\.example\.org\/saml\/metadata/);
    assert.match((await cli('sp', 'add', '--help')).out, /sp set <entityID> --metadata <file \| https URL>/);
    assert.match((await cli('sp', 'remove', '--help')).out, /use sp set <entityID> --metadata instead, which keeps its settings/);
    assert.equal((await cli('sp', 'set', sp.entityId, '--metadata', ' ')).code, 2, '--metadata needs a value');
  });
});

describe('sp set --metadata with an https URL', () => {
  const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
  const FIXTURE = fileURLToPath(new URL('../fixtures/saml/sp-valid.xml', import.meta.url));
  let ca: TestCa;
  let server: Server;
  let dataDir: string;

  before(async () => {
    ca = await createTestCa();
    dataDir = await mkdtemp(join(tmpdir(), 'stepgate-sp-update-url-'));
    const moved = (await readFile(FIXTURE, 'utf8')).replace('Location="https://wiki.example.org/saml/acs"', 'Location="https://wiki.example.org/saml/acs-new"');
    server = createServer({ cert: await readFile(ca.certFile), key: await readFile(ca.keyFile) }, (req, res) => {
      if (req.url === '/metadata.xml') return void res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(moved);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
    await ca?.cleanup();
  });

  /** `npm run cli -- sp …` as its own process: NODE_EXTRA_CA_CERTS is read only at a process's start. */
  async function spCli(...words: string[]): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, 'sp', ...words], {
      env: { ...withoutSecretKey(), STEPGATE_DATA_DIR: dataDir, NODE_EXTRA_CA_CERTS: ca.caFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = captureOutput(child);
    const code = await waitForExit(child, { what: `cli sp ${words.join(' ')}`, output });
    return { code, output: output() };
  }

  test('is fetched as sp add fetches it, and replaces the endpoints', async () => {
    const added = await spCli('add', FIXTURE, '--policy', 'permit-everyone-require-mfa');
    assert.equal(added.code, 0, added.output);
    const url = `https://localhost:${(server.address() as { port: number }).port}/metadata.xml`;
    const set = await spCli('set', 'https://wiki.example.org/saml/metadata', '--metadata', url);
    assert.equal(set.code, 0, set.output);
    assert.match(set.output, /added ACS #1 \(default\): HTTP-POST https:\/\/wiki\.example\.org\/saml\/acs-new\n  removed ACS #1 \(default\): HTTP-POST https:\/\/wiki\.example\.org\/saml\/acs\n/);
    assert.match(set.output, /policy:     permit-everyone-require-mfa/);
  });
});

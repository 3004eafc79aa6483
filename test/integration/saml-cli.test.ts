import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { runSpCli } from '../helpers/sp-cli.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import type { Store } from '../../src/store/store.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/saml/${name}`, import.meta.url));
const DEMO_SP = fileURLToPath(new URL('../../metadata/sp/demo-sp.xml', import.meta.url));
const WIKI = 'https://wiki.example.org/saml/metadata';

describe('sp CLI commands', () => {
  let dir: string;
  let store: Store;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepgate-sp-cli-'));
    store = await new LowdbStore(dir, systemClock, { sealer: testSealer() }).open();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (...words: string[]) => runSpCli(dir, store, words);
  const registered = async () => (await createSpRegistry(store, systemClock).list()).map((sp) => sp.id);

  /** `sp add <source>` exits 1 with the message and writes nothing. */
  async function assertAddRefused(source: string, message: RegExp): Promise<void> {
    const before = await registered();
    const { code, err } = await cli('sp', 'add', source);
    assert.equal(code, 1, source);
    assert.match(err, message, source);
    assert.deepEqual(await registered(), before, `${source}: nothing written`);
  }

  test('every command has help text', async () => {
    for (const command of ['add', 'set', 'list', 'show', 'remove']) {
      const { code, out } = await cli('sp', command, '--help');
      assert.equal(code, 0);
      assert.match(out, new RegExp(`^Usage: npm run cli -- sp ${command}`));
    }
    assert.match((await cli('sp', 'add', '--help')).out, /--sign response\|assertion\|both[\s\S]*--nameid persistent\|transient\|email\|unspecified[\s\S]*--allow-password-change/);
    assert.match((await cli('sp', 'set', '--help')).out, /--name N[\s\S]*--policy P[\s\S]*--encrypt \/ --no-encrypt[\s\S]*--sign response\|assertion\|both[\s\S]*--nameid persistent\|transient\|email\|unspecified[\s\S]*--allow-password-change \/ --no-allow-password-change/);
  });

  test('sp add refuses a policy that does not exist and writes nothing', async () => {
    const { code, err } = await cli('sp', 'add', fixture('sp-valid.xml'), '--policy', 'no-such-policy');
    assert.equal(code, 1);
    assert.match(err, /No policy named "no-such-policy"/);
    assert.equal(await createSpRegistry(store, systemClock).get(WIKI), undefined);
  });

  test('sp add registers valid metadata with settings derived from it and from the options', async () => {
    const { code, out } = await cli('sp', 'add', fixture('sp-valid.xml'), '--name', 'Wiki', '--policy', 'permit-everyone-require-mfa', '--allow-password-change');
    assert.equal(code, 0, out);
    assert.match(out, /Registered SAML SP https:\/\/wiki\.example\.org\/saml\/metadata\./);
    assert.match(out, /signing certificate: CN=wiki\.example\.org signing, expires 2046-01-01/);
    assert.match(out, /ACS #1 \(default\): HTTP-POST https:\/\/wiki\.example\.org\/saml\/acs/);
    const sp = await createSpRegistry(store, systemClock).get(WIKI);
    assert.ok(sp);
    assert.equal(sp.name, 'Wiki');
    assert.deepEqual(sp.settings, {
      wantAssertionsSigned: true,
      wantResponseSigned: true,
      requireSignedRequests: true,
      encryptAssertions: true,
      nameIdFormat: 'email',
      attributes: sp.settings.attributes,
      allowPasswordChange: true,
      policy: 'permit-everyone-require-mfa',
    });
    assert.equal(sp.settings.attributes.length, 4);
    assert.match(sp.encryptionCertificate?.subject ?? '', /encryption/);
    assert.deepEqual(sp.slo, [
      { binding: 'redirect', location: 'https://wiki.example.org/saml/slo' },
      { binding: 'post', location: 'https://wiki.example.org/saml/slo', responseLocation: 'https://wiki.example.org/saml/slo-done' },
    ]);
    assert.equal(sp.metadataXml, await readFile(fixture('sp-valid.xml'), 'utf8'));
  });

  test('the same entityID cannot be added twice', async () => {
    const before = await createSpRegistry(store, systemClock).get(WIKI);
    const { code, err } = await cli('sp', 'add', fixture('sp-valid.xml'), '--sign', 'response');
    assert.equal(code, 1);
    assert.match(err, /already registered; to load its new metadata and keep its settings, use sp set https:\/\/wiki\.example\.org\/saml\/metadata --metadata/);
    assert.deepEqual(await createSpRegistry(store, systemClock).get(WIKI), before);
  });

  test('an entityID differing only by surrounding whitespace is the same entityID (xs:anyURI collapses it); inner whitespace is refused', async () => {
    const valid = await readFile(fixture('sp-valid.xml'), 'utf8');
    const variants: Array<[string, RegExp]> = [
      [`entityID="${WIKI} "`, /an SP with entityID https:\/\/wiki\.example\.org\/saml\/metadata is already registered/],
      [`entityID="&#9;${WIKI}&#9;"`, /an SP with entityID https:\/\/wiki\.example\.org\/saml\/metadata is already registered/],
      [`entityID="https://wiki.example.org/saml metadata"`, /entityID="https:\/\/wiki\.example\.org\/saml metadata" contains whitespace/],
      // A right-to-left override would make `sp list` print "https://bidi.example/metadata".
      [`entityID="https://bidi.example/\u202Etadatem"`, /entityID contains the invisible character U\+202E, which a URI cannot/],
      [`entityID="https://c1.example/\u009Bsp"`, /entityID contains the invisible character U\+009B/],
    ];
    for (const [entityId, message] of variants) {
      const file = join(dir, 'whitespace-entityid.xml');
      await writeFile(file, valid.replace(`entityID="${WIKI}"`, entityId));
      await assertAddRefused(file, message);
    }
  });

  test('--sign response for an SP whose metadata says WantAssertionsSigned="true" is done, with a warning that it will refuse the sign-ins', async () => {
    const file = join(dir, 'wants-signed-assertions.xml');
    const entityId = 'https://wants-signed.example.org/sp';
    await writeFile(file, (await readFile(fixture('sp-valid.xml'), 'utf8')).replace(`entityID="${WIKI}"`, `entityID="${entityId}"`));
    const warning = /Warning: the metadata says WantAssertionsSigned="true", and assertions are not signed for this SP \(--sign response\): it will most likely refuse every sign-in; use --sign both/;

    const added = await cli('sp', 'add', file, '--sign', 'response', '--no-encrypt');
    assert.equal(added.code, 0, added.err);
    assert.match(added.err, warning);
    assert.equal((await createSpRegistry(store, systemClock).get(entityId))?.settings.wantAssertionsSigned, false, 'done as asked');

    const both = await cli('sp', 'set', entityId, '--sign', 'both');
    assert.equal(both.code, 0, both.err);
    assert.doesNotMatch(both.err, /WantAssertionsSigned/);
    const set = await cli('sp', 'set', entityId, '--sign', 'response');
    assert.equal(set.code, 0, set.err);
    assert.match(set.err, warning);
    assert.doesNotMatch((await cli('sp', 'set', entityId, '--name', 'Renamed')).err, /WantAssertionsSigned/, 'a change that does not say what is signed does not repeat it');

    const plain = join(dir, 'no-signed-assertions.xml');
    await writeFile(plain, (await readFile(file, 'utf8')).replace('WantAssertionsSigned="true"', 'WantAssertionsSigned="false"').replace(entityId, 'https://plain-assertions.example.org/sp'));
    assert.doesNotMatch((await cli('sp', 'add', plain, '--sign', 'response', '--no-encrypt')).err, /WantAssertionsSigned/, 'metadata that does not ask gets no warning');
    for (const id of [entityId, 'https://plain-assertions.example.org/sp']) assert.equal((await cli('sp', 'remove', id)).code, 0);
  });

  test('xs:boolean attributes are read after whitespace collapse: " true" is true', async () => {
    const file = join(dir, 'whitespace-booleans.xml');
    const valid = await readFile(fixture('sp-valid.xml'), 'utf8');
    await writeFile(
      file,
      valid
        .replace(`entityID="${WIKI}"`, 'entityID="https://booleans.example.org/sp"')
        .replace('AuthnRequestsSigned="true" WantAssertionsSigned="true"', 'AuthnRequestsSigned=" true" WantAssertionsSigned="1 "')
        .replace('index="0"/>', 'index="0" isDefault=" false"/>'),
    );
    const { code, err } = await cli('sp', 'add', file, '--no-encrypt');
    assert.equal(code, 0, err);
    const sp = await createSpRegistry(store, systemClock).get('https://booleans.example.org/sp');
    assert.deepEqual([sp?.settings.requireSignedRequests, sp?.settings.wantAssertionsSigned, sp?.acs[0]?.isDefault], [true, true, false]);
    assert.equal((await cli('sp', 'remove', 'https://booleans.example.org/sp')).code, 0);
  });

  test('endpoint URLs: a fragment or credentials are refused; an unusual spelling, a past validUntil, a signature, a weak or not-yet-valid certificate and a look-alike entityID are named', async () => {
    const valid = await readFile(fixture('sp-valid.xml'), 'utf8');
    const acs = 'Location="https://wiki.example.org/saml/acs" index="1"';
    const variant = async (name: string, change: (xml: string) => string) => {
      const file = join(dir, `${name}.xml`);
      await writeFile(file, change(valid.replace(`entityID="${WIKI}"`, `entityID="https://${name}.example.org/sp"`)));
      return file;
    };
    await assertAddRefused(await variant('fragment', (xml) => xml.replace(acs, 'Location="https://wiki.example.org/saml/acs#top" index="1"')), /has a fragment/);
    await assertAddRefused(await variant('credentials', (xml) => xml.replace(acs, 'Location="https://user:pw@wiki.example.org/saml/acs" index="1"')), /contains credentials/);
    // The attribute is named once: this read "SingleLogoutService ResponseLocation Location".
    await assertAddRefused(await variant('responselocation', (xml) => xml.replace('ResponseLocation="https://wiki.example.org/saml/slo-done"', 'ResponseLocation="javascript:alert(1)"')), /refused: SingleLogoutService ResponseLocation "javascript:alert\(1\)" must use https \(or http\)\.$/);

    const odd = await cli('sp', 'add', await variant('oddspelling', (xml) => xml.replace(acs, 'Location="HTTPS://WIKI.example.org/saml/acs" index="1"')), '--no-encrypt');
    assert.equal(odd.code, 0, odd.err);
    assert.match(odd.err, /Warning: AssertionConsumerService HTTPS:\/\/WIKI\.example\.org\/saml\/acs is written unusually \(browsers use https:\/\/wiki\.example\.org\/saml\/acs\)/);

    const signature = '<ds:Signature><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>';
    const expiredDescriptor = await cli(
      'sp', 'add',
      await variant('signedexpired', (xml) => xml.replace('<md:SPSSODescriptor ', '<md:SPSSODescriptor validUntil="2001-01-01T00:00:00Z" ').replace(/(<md:EntityDescriptor [^>]*>)/, `$1${signature}`)),
      '--no-encrypt',
    );
    assert.equal(expiredDescriptor.code, 0, expiredDescriptor.err);
    assert.match(expiredDescriptor.err, /the SPSSODescriptor's validUntil \(2001-01-01T00:00:00Z\) is in the past/);
    assert.match(expiredDescriptor.err, /the metadata is signed, but its signature was not checked/);

    const keys = await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 1024 }, true, ['sign', 'verify']);
    const later = new Date(Date.now() + 365 * 86_400_000);
    const weak = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=weak.example.org', notBefore: later, notAfter: new Date(later.getTime() + 86_400_000), keys: keys as never, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } });
    const body = weak.toString('base64');
    const weakCert = await cli('sp', 'add', await variant('weakcert', (xml) => xml.replace(/(<md:KeyDescriptor use="signing">\s*<ds:KeyInfo><ds:X509Data><ds:X509Certificate>)[^<]*/, `$1${body}`)), '--no-encrypt');
    assert.equal(weakCert.code, 0, weakCert.err);
    assert.match(weakCert.err, /has a 1024-bit RSA key; 2048 bits is the least considered safe/);
    assert.match(weakCert.err, /is not valid before /);

    const lookalike = await cli('sp', 'add', await variant('oddspelling', (xml) => xml).then(async (file) => {
      await writeFile(file, (await readFile(file, 'utf8')).replace('entityID="https://oddspelling.example.org/sp"', 'entityID="https://ODDSPELLING.example.org/sp/"'));
      return file;
    }), '--no-encrypt');
    assert.equal(lookalike.code, 0, lookalike.err);
    assert.match(lookalike.err, /another SP's entityID differs from this one only in case, port or a trailing slash: https:\/\/oddspelling\.example\.org\/sp/);
  });

  test('an expired certificate is accepted with a warning; the unqualified key encrypts only on --encrypt', async () => {
    const { code, err, out } = await cli('sp', 'add', fixture('sp-expired-cert.xml'), '--encrypt', '--sign', 'assertion', '--nameid', 'transient');
    assert.equal(code, 0, err);
    assert.match(err, /Warning: KeyDescriptor #1: certificate CN=legacy\.example\.org expired on 2020-01-01/);
    assert.match(out, /\(EXPIRED\)/);
    const sp = await createSpRegistry(store, systemClock).get('https://legacy.example.org/sp');
    assert.deepEqual([sp?.settings.encryptAssertions, sp?.settings.wantResponseSigned, sp?.settings.wantAssertionsSigned, sp?.settings.nameIdFormat], [true, false, true, 'transient']);
  });

  test('the demo sample registers as documented', async () => {
    const { code, err } = await cli('sp', 'add', DEMO_SP);
    assert.equal(code, 0);
    assert.match(err, /Warning: SingleLogoutService is listed but there is no signing certificate: the LogoutRequests of this SP will be refused/);
    const sp = await createSpRegistry(store, systemClock).get('http://localhost:3000/saml/metadata');
    assert.deepEqual([sp?.settings.requireSignedRequests, sp?.settings.encryptAssertions, sp?.settings.wantAssertionsSigned, sp?.settings.nameIdFormat], [false, false, true, 'persistent']);
  });

  test('bad metadata is refused with a precise message, exit code 1, and nothing written', async () => {
    const big = join(dir, 'big.xml');
    await writeFile(big, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://big.example/sp"><!--${'x'.repeat(300 * 1024)}--></md:EntityDescriptor>`);
    const cases: Array<[string, RegExp]> = [
      [fixture('sp-doctype.xml'), /DOCTYPE or ENTITY declaration/],
      [fixture('sp-missing-entityid.xml'), /does not match the SP metadata schema: .*entityID.*required/],
      [fixture('sp-no-post-acs.xml'), /no AssertionConsumerService with the HTTP-POST binding/],
      [fixture('sp-bad-certificate.xml'), /KeyDescriptor #1: the certificate cannot be parsed/],
      [fixture('sp-javascript-acs.xml'), /AssertionConsumerService Location "javascript:alert\(document\.cookie\)" must use https/],
      [fixture('sp-signed-without-certificate.xml'), /AuthnRequestsSigned="true" but the metadata has no signing certificate/],
      [big, /larger than 256 KB/],
      ['http://wiki.example.org/saml/metadata', /only https:\/\/ metadata URLs are accepted/],
      [join(dir, 'missing.xml'), /cannot read .*missing\.xml \(ENOENT\)/],
    ];
    for (const [source, message] of cases) await assertAddRefused(source, message);
  });

  test('usage errors exit with 2', async () => {
    for (const words of [['sp', 'add'], ['sp', 'add', DEMO_SP, '--sign', 'everything'], ['sp', 'add', DEMO_SP, '--nameid', 'x509'], ['sp', 'add', DEMO_SP, '--encrypt', '--no-encrypt'], ['sp', 'add', DEMO_SP, '--colour', 'red'], ['sp', 'show'], ['sp', 'set', WIKI, '--allow-unsigned-requests']]) {
      assert.equal((await cli(...words)).code, 2, words.join(' '));
    }
  });

  test('sp list, show and remove', async () => {
    const list = await cli('sp', 'list');
    assert.equal(list.code, 0);
    assert.match(list.out, /https:\/\/wiki\.example\.org\/saml\/metadata  "Wiki"  nameid=email  policy=permit-everyone-require-mfa  certificates until 2046-01-01/);
    const show = await cli('sp', 'show', WIKI);
    assert.match(show.out, /encrypted:  yes \(aes256-gcm, rsa-oaep-mgf1p\)[\s\S]*policy:     permit-everyone-require-mfa/);
    assert.equal((await cli('sp', 'show', 'https://nobody.example/sp')).code, 1);
    assert.equal((await cli('sp', 'remove', WIKI)).code, 0);
    assert.equal((await cli('sp', 'remove', WIKI)).code, 1);
    assert.ok(!(await registered()).includes(WIKI));
  });

  describe('sp set', () => {
    const DEMO = 'http://localhost:3000/saml/metadata';
    const LEGACY = 'https://legacy.example.org/sp';
    const record = (entityId: string) => createSpRegistry(store, systemClock).get(entityId);

    test('changes the settings in place: visible in show, held by the registry record', async () => {
      const before = (await record(DEMO))!;
      const { code, out, err } = await cli('sp', 'set', DEMO, '--name', 'Demo app', '--policy', 'permit-everyone-require-mfa', '--sign', 'both', '--nameid', 'email', '--allow-password-change');
      assert.equal(code, 0, err);
      assert.match(out, /^Updated SAML SP http:\/\/localhost:3000\/saml\/metadata\./);
      const after = (await record(DEMO))!;
      assert.equal(after.name, 'Demo app');
      assert.deepEqual(after.settings, { ...before.settings, policy: 'permit-everyone-require-mfa', wantAssertionsSigned: true, wantResponseSigned: true, nameIdFormat: 'email', allowPasswordChange: true });
      assert.deepEqual([after.metadataXml, after.acs, after.createdAt], [before.metadataXml, before.acs, before.createdAt], 'the metadata stays as registered');
      assert.ok(after.updatedAt > before.updatedAt, 'updatedAt moves, so cached samlify entities are rebuilt');
      const show = await cli('sp', 'show', DEMO);
      assert.match(show.out, /name:       Demo app[\s\S]*signed:     response and assertion[\s\S]*NameID:     email by default[\s\S]*policy:     permit-everyone-require-mfa\npassword change during sign-in: allowed/);

      // Only the options given change.
      assert.equal((await cli('sp', 'set', DEMO, '--no-allow-password-change', '--sign', 'assertion')).code, 0);
      const again = (await record(DEMO))!;
      assert.deepEqual(again.settings, { ...after.settings, allowPasswordChange: false, wantResponseSigned: false });
      assert.equal(again.name, 'Demo app');
    });

    test('encryption can be turned off and on where the metadata has a certificate', async () => {
      assert.equal((await cli('sp', 'set', LEGACY, '--no-encrypt')).code, 0);
      assert.equal((await record(LEGACY))?.settings.encryptAssertions, false);
      assert.match((await cli('sp', 'show', LEGACY)).out, /encrypted:  no/);
      assert.equal((await cli('sp', 'set', LEGACY, '--encrypt')).code, 0);
      assert.equal((await record(LEGACY))?.settings.encryptAssertions, true);
    });

    test('an unknown policy, --encrypt without a certificate, and an unknown entityID are refused with nothing written', async () => {
      const before = await createSpRegistry(store, systemClock).list();
      const unknownPolicy = await cli('sp', 'set', DEMO, '--name', 'Renamed', '--policy', 'nope');
      assert.equal(unknownPolicy.code, 1);
      assert.match(unknownPolicy.err, /No policy named "nope"\. Known policies: .*permit-everyone-require-mfa/);
      const noCertificate = await cli('sp', 'set', DEMO, '--name', 'Renamed', '--encrypt');
      assert.equal(noCertificate.code, 1);
      assert.match(noCertificate.err, /The change was refused: encryption needs a KeyDescriptor with a certificate in the metadata\./);
      const unknownSp = await cli('sp', 'set', 'https://nobody.example/sp', '--name', 'Nobody');
      assert.equal(unknownSp.code, 1);
      assert.match(unknownSp.err, /No SAML SP with entityID https:\/\/nobody\.example\/sp\./);
      assert.deepEqual(await createSpRegistry(store, systemClock).list(), before);
    });

    test('usage errors exit with 2 and write nothing', async () => {
      const before = await createSpRegistry(store, systemClock).list();
      for (const words of [
        ['sp', 'set'],
        ['sp', 'set', DEMO],
        ['sp', 'set', DEMO, LEGACY, '--encrypt'],
        ['sp', 'set', DEMO, '--no-encrypt', 'yes'],
        ['sp', 'set', DEMO, '--sign', 'everything'],
        ['sp', 'set', DEMO, '--nameid', 'x509'],
        ['sp', 'set', DEMO, '--encrypt', '--no-encrypt'],
        ['sp', 'set', DEMO, '--allow-password-change', '--no-allow-password-change'],
        ['sp', 'set', DEMO, '--policy'],
        ['sp', 'set', DEMO, '--name', ' '],
        ['sp', 'set', DEMO, '--colour', 'red'],
      ]) {
        assert.equal((await cli(...words)).code, 2, words.join(' '));
      }
      assert.deepEqual(await createSpRegistry(store, systemClock).list(), before);
    });
  });
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { PEOPLE } from '../helpers/ldap-directory.ts';
import { createRp, rpAndSpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import { DEFAULT_SAML_ATTRIBUTES, type AttributeMapping } from '../../src/rp/claims.ts';

// A binary users.idAttribute (AD's objectSid; here inetOrgPerson's octet-string `audio` holding SIDs
// that differ only in the RID, the last 4 of 28 bytes) gives every user an id of their own, which finds
// them again; a binary attribute released to an SP is base64 whatever its bytes.

const run = promisify(execFile);
const PASSWORD = 'Passw0rd!binary';

/** An AD SID of the domain S-1-5-21-2398198481-2839855639-2449350763 with this RID. */
function sid(rid: number): Buffer {
  const bytes = Buffer.alloc(28);
  bytes.set([1, 5, 0, 0, 0, 0, 0, 5]);
  [21, 2398198481, 2839855639, 2449350763, rid].forEach((sub, i) => bytes.writeUInt32LE(sub, 8 + 4 * i));
  return bytes;
}

const ALICE = { uid: 'alice', audio: sid(1105), jpegPhoto: Buffer.from('GIF89a plain ascii bytes') };
const MALLORY = { uid: 'mallory', audio: sid(1106), jpegPhoto: Buffer.from([0x01, 0x02, 0x41]) };

function personLdif(person: typeof ALICE, extra = ''): string {
  const { uid } = person;
  return `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\naudio:: ${person.audio.toString('base64')}\njpegPhoto:: ${person.jpegPhoto.toString('base64')}\n${extra}userPassword: ${PASSWORD}\n`;
}

let slapd: SlapdHandle;
let app: Booted;
let rp: TestRp;
let sp: TestSp;
let certificate: Buffer;

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-binary-'));
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.der'), '-outform', 'DER', '-days', '2', '-subj', '/CN=alice']);
    certificate = await readFile(join(dir, 'cert.der'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  slapd = await startSlapd({ ldif: [personLdif(ALICE, `userCertificate;binary:: ${certificate.toString('base64')}\n`), personLdif(MALLORY)] });
  app = await boot({
    directory: { kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 5000, healthCheckSeconds: 0, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE, idAttribute: 'audio' } },
  });
  rp = await createRp(app);
  sp = await TestSp.create(app, { name: 'binary', register: { nameId: 'persistent' } });
  const released: AttributeMapping[] = [
    { name: 'jpegPhoto', nameFormat: 'basic', source: 'attribute:jpegPhoto' },
    { name: 'userCertificate', nameFormat: 'basic', source: 'attribute:userCertificate' },
  ];
  await createSpRegistry(app.services.store, app.services.clock).update(sp.entityId, { settings: { attributes: [...DEFAULT_SAML_ATTRIBUTES, ...released] } });
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

test('a binary idAttribute of 28 bytes: each user their own sub (the base64url of every byte), found again when the session is reused', async () => {
  const subs: string[] = [];
  for (const person of [ALICE, MALLORY]) {
    const browser = rpAndSpBrowser();
    const first = await signIn(rp, browser, { username: person.uid, password: PASSWORD });
    assert.equal(first.claims.sub, person.audio.toString('base64url'));
    // SSO reuse reads the user again by this id (findUserById): no password page, the same user
    const again = await signIn(rp, browser, undefined);
    assert.equal(again.claims.sub, first.claims.sub);
    assert.equal(again.claims['preferred_username'], person.uid);
    subs.push(first.claims.sub);
  }
  assert.notEqual(subs[0], subs[1]);
});

test('binary attributes released to an SP are base64 whatever their bytes; each user has their own persistent NameID', async () => {
  const received = new Map<string, { nameID: string; attributes: Record<string, unknown> }>();
  for (const person of [ALICE, MALLORY]) {
    const browser = rpAndSpBrowser();
    const page = await sendAuthnRequest(browser, sp);
    assert.ok(isPasswordPage(page));
    const answer = await browser.submit(page, { username: person.uid, password: PASSWORD });
    const { profile } = await sp.client().validatePostResponseAsync({ SAMLResponse: samlPostForm(answer).fields.SAMLResponse! });
    received.set(person.uid, { nameID: String(profile?.nameID), attributes: (profile?.attributes ?? {}) as Record<string, unknown> });
  }
  const alice = received.get('alice')!;
  const mallory = received.get('mallory')!;
  assert.notEqual(alice.nameID, mallory.nameID);
  // bytes that happen to be printable text, and control bytes XML cannot carry as text
  assert.equal(alice.attributes['jpegPhoto'], ALICE.jpegPhoto.toString('base64'));
  assert.equal(mallory.attributes['jpegPhoto'], 'AQJB');
  // slapd answers userCertificate;binary: a mapping of userCertificate releases it
  assert.equal(alice.attributes['userCertificate'], certificate.toString('base64'));
  assert.equal(mallory.attributes['userCertificate'], undefined);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, sendAuthnRequest } from '../helpers/saml-sp.ts';

let app: Booted;
let plain: TestSp;
let signing: TestSp;

before(async () => {
  app = await boot({ saml: { wantAuthnRequestsSigned: true } });
  await addLocalUser(app.services, 'alice', 'Correct-horse-42');
  [plain, signing] = await Promise.all([TestSp.create(app, { name: 'want-plain', signRequests: false }), TestSp.create(app, { name: 'want-signing' })]);
});
after(() => app.close());

test('saml.wantAuthnRequestsSigned: the metadata says so', async () => {
  const xml = await (await fetch(`${app.url}/saml/metadata`)).text();
  assert.match(xml, /<md:IDPSSODescriptor WantAuthnRequestsSigned="true"/);
});

test('saml.wantAuthnRequestsSigned: an unsigned AuthnRequest is refused even from an SP whose metadata does not sign, and nothing starts', async () => {
  const browser = new TestBrowser();
  const logsBefore = app.logs.length;
  const transactionsBefore = await app.services.store.kv.count('login-tx');
  const page = await sendAuthnRequest(browser, plain);
  assert.equal(page.status, 400);
  assert.match(page.body, /sign-in request could not be verified as coming from it, so it was refused\./);
  const warned = app.logs.slice(logsBefore).find((line) => line.level === 40 && line.code === 'SAML_SIGNATURE_INVALID');
  assert.equal((warned?.detail as { reason?: string } | undefined)?.reason, 'unsigned-request');
  assert.equal(await app.services.store.kv.count('login-tx'), transactionsBefore, 'no sign-in was started');
});

test('saml.wantAuthnRequestsSigned: a signed AuthnRequest goes on to the password page', async () => {
  assert.ok(isPasswordPage(await sendAuthnRequest(new TestBrowser(), signing)));
});

test('by default the metadata says WantAuthnRequestsSigned="false" and an SP that does not sign may send unsigned requests', async () => {
  const relaxed = await boot();
  try {
    const sp = await TestSp.create(relaxed, { name: 'relaxed-plain', signRequests: false });
    assert.match(await (await fetch(`${relaxed.url}/saml/metadata`)).text(), /WantAuthnRequestsSigned="false"/);
    assert.ok(isPasswordPage(await sendAuthnRequest(new TestBrowser(), sp)));
  } finally {
    await relaxed.close();
  }
});

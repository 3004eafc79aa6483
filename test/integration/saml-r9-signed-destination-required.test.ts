import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Profile } from '@node-saml/node-saml';
import { signSamlPost } from '@node-saml/node-saml/lib/saml-post-signing.js';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, parseForms, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, redirectMessageXml } from '../helpers/saml-sp.ts';

/**
 * saml-bindings §3.4.5.2 (Redirect) and §3.5.5.2 (POST): a signed message must carry Destination, and
 * it must be this IdP's endpoint. That is what keeps a request an SP signed for another IdP (or for
 * another endpoint of this one) from being replayed here; an unsigned message may leave it out.
 * Each request below is node-saml's own, its Destination attribute removed, then signed by the SP.
 */
const PASSWORD = 'Correct-horse-42';
const WITHOUT_DESTINATION = / Destination="[^"]*"/;
let app: Booted;
let redirectSp: TestSp;
let postSp: TestSp;
let unsignedSp: TestSp;

before(async () => {
  app = await boot();
  await addLocalUser(app.services, 'alice', PASSWORD);
  [redirectSp, postSp, unsignedSp] = await Promise.all([
    TestSp.create(app, { name: 'dest-redirect' }),
    TestSp.create(app, { name: 'dest-post', binding: 'post' }),
    TestSp.create(app, { name: 'dest-unsigned', signRequests: false }),
  ]);
});
after(() => app?.close());

type Message = { url: string; fields?: Record<string, string> };
type Alter = (xml: string) => string;
const keep: Alter = (xml) => xml;
const dropDestination: Alter = (xml) => {
  assert.match(xml, WITHOUT_DESTINATION, 'node-saml wrote a Destination to remove');
  return xml.replace(WITHOUT_DESTINATION, '');
};

/** The SP's AuthnRequest, altered, then signed as its binding signs (in the query, or enveloped) when the SP signs. */
async function authnRequest(sp: TestSp, alter: Alter): Promise<Message> {
  const unsigned = await sp.client({ privateKey: undefined, skipRequestCompression: false }).getAuthorizeUrlAsync('', undefined, {});
  const xml = alter(redirectMessageXml(unsigned, 'SAMLRequest'));
  if (sp.options.binding !== 'post') return { url: await sp.client()._requestToUrlAsync(xml, null, 'authorize', {}) };
  const signed = signSamlPost(xml, '/*[local-name(.)="AuthnRequest"]', { privateKey: sp.keyPem, publicCert: sp.certPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
  return { url: `${app.url}/saml/sso`, fields: { SAMLRequest: Buffer.from(signed).toString('base64') } };
}

/** The SP's signed LogoutRequest for alice, altered before it is signed, over either binding. */
async function logoutRequest(sp: TestSp, binding: 'redirect' | 'post', alter: Alter): Promise<Message> {
  const profile: Profile = { issuer: sp.entityId, nameID: 'alice', nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' };
  const saml = sp.client();
  const xml = alter(await saml._generateLogoutRequest(profile));
  if (binding === 'redirect') return { url: await saml._requestToUrlAsync(xml, null, 'logout', {}) };
  const signed = signSamlPost(xml, '/*[local-name(.)="LogoutRequest"]', { privateKey: sp.keyPem, publicCert: sp.certPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
  return { url: `${app.url}/saml/slo`, fields: { SAMLRequest: Buffer.from(signed).toString('base64') } };
}

function send(browser: TestBrowser, message: Message, followRedirects = true): Promise<Page> {
  return message.fields ? browser.request(message.url, { method: 'POST', body: new URLSearchParams(message.fields), followRedirects }) : browser.get(message.url, { followRedirects });
}

/** Refused as sent to the wrong place: 400, a warn line and one audited saml.request failure with that reason, no session. */
async function assertWrongDestination(message: Message, label: string): Promise<void> {
  const browser = new TestBrowser();
  const mark = app.logs.length;
  const page = await send(browser, message, false);
  assert.equal(page.status, 400, `${label}: ${page.status} ${page.headers.get('location') ?? page.body.slice(0, 300)}`);
  assert.doesNotMatch(page.body, /name="SAMLResponse"/, label);
  const warned = app.logs.slice(mark).find((line) => line.level === 40 && line.code === 'SAML_REQUEST_INVALID');
  assert.equal((warned?.detail as { reason?: string } | undefined)?.reason, 'wrong-destination', `${label}: ${JSON.stringify(warned)}`);
  const [event] = (await app.services.store.audit.query({ types: ['saml.request'], limit: 1 })).events;
  assert.deepEqual([event?.outcome, event?.code, event?.reason, event?.requestId], ['failure', 'SAML_REQUEST_INVALID', 'wrong-destination', page.headers.get('x-request-id')], label);
  assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false, `${label}: no session`);
}

test('a signed AuthnRequest without Destination is refused, over Redirect and POST; the same request with it is accepted', async () => {
  for (const sp of [redirectSp, postSp]) {
    const label = `${sp.options.binding ?? 'redirect'} AuthnRequest`;
    await assertWrongDestination(await authnRequest(sp, dropDestination), label);
    assert.ok(isPasswordPage(await send(new TestBrowser(), await authnRequest(sp, keep))), `${label} with its Destination: the password page`);
  }
});

test('an unsigned AuthnRequest may leave Destination out (control)', async () => {
  assert.ok(isPasswordPage(await send(new TestBrowser(), await authnRequest(unsignedSp, dropDestination))));
});

test('a signed LogoutRequest without Destination is refused, over Redirect and POST; the same request with it is answered', async () => {
  for (const binding of ['redirect', 'post'] as const) {
    await assertWrongDestination(await logoutRequest(redirectSp, binding, dropDestination), `${binding} LogoutRequest`);
    const accepted = await send(new TestBrowser(), await logoutRequest(redirectSp, binding, keep));
    const answer = parseForms(accepted.body, accepted.url).find((form) => 'SAMLResponse' in form.fields);
    assert.equal(answer?.action, redirectSp.sloUrl, `${binding} LogoutRequest with its Destination gets the SP's LogoutResponse: ${accepted.status} ${accepted.body.slice(0, 300)}`);
  }
});

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm } from '../helpers/saml-sp.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';

const KV_NAMESPACES = ['login-tx', 'saml-request-id', 'saml-pending', 'sso-session', 'saml-slo'];
const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';

let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };

describe('SAML input safety: every bad request is refused, logged, and writes nothing', () => {
  let app: Booted;
  let signing: TestSp;
  let signingPost: TestSp;
  let plain: TestSp;

  before(async () => {
    app = await boot({}, { clock });
    await addLocalUser(app.services, 'alice', 'Correct-horse-42');
    [signing, signingPost, plain] = await Promise.all([
      TestSp.create(app, { name: 'signing' }),
      TestSp.create(app, { name: 'signing-post', binding: 'post' }),
      TestSp.create(app, { name: 'plain', signRequests: false }),
    ]);
  });
  after(() => app.close());

  async function storeState() {
    const kv = app.services.store.kv;
    return {
      kv: await Promise.all(KV_NAMESPACES.map(async (namespace) => [namespace, await kv.count(namespace)])),
      sps: (await createSpRegistry(app.services.store, app.services.clock).list()).map((sp) => sp.updatedAt),
    };
  }

  /** Sends a bad request and checks the whole contract: status, error page, warn log with the code, nothing written. */
  async function assertRefused(send: (browser: TestBrowser) => Promise<Page>, expected: { status: number; code: string | string[]; reason?: string; message: RegExp; audited?: false }): Promise<void> {
    const browser = new TestBrowser();
    const before = await storeState();
    const auditBefore = (await app.services.store.audit.query({ limit: 10_000 })).events.length;
    const logsBefore = app.logs.length;
    const page = await send(browser);
    assert.equal(page.status, expected.status, page.body.slice(0, 400));
    assert.match(page.body, expected.message);
    assert.doesNotMatch(page.body, /name="SAMLResponse"/);
    const codes = [expected.code].flat();
    const line = app.logs.slice(logsBefore).find((entry) => entry.level === 40 && codes.includes(entry.code as string));
    assert.ok(line, `a warn line with ${expected.code}; got ${JSON.stringify(app.logs.slice(logsBefore).map((entry) => [entry.level, entry.code, entry.detail]))}`);
    if (expected.reason) assert.equal((line.detail as { reason?: string } | undefined)?.reason, expected.reason);
    assert.deepEqual(await storeState(), before, 'nothing written to the store');
    // Only the refusal itself is audited: one saml.request failure with its code, answering this page's reference
    // (none for a body the body parser refuses before any SAML route sees it).
    const audited = (await app.services.store.audit.query({ limit: 10_000 })).events.slice(auditBefore);
    if (expected.audited === false) assert.deepEqual(audited, []);
    else {
      assert.deepEqual(audited.map((event) => [event.type, event.outcome, event.requestId]), [['saml.request', 'failure', page.headers.get('x-request-id')]]);
      assert.ok(codes.includes(audited[0]!.code as string), JSON.stringify(audited[0]));
    }
    assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false, 'no session');
  }

  const INVALID = /The application sent a sign-in request that is not valid, so it was refused\./;
  const SIGNATURE = /sign-in request could not be verified as coming from it, so it was refused\./;

  function authnRequestXml(options: { issuer?: string; issuerFormat?: string; id?: string; issueInstant?: string; attributes?: string; before?: string; afterIssuer?: string } = {}): string {
    const attributes = options.attributes ?? `Destination="${app.url}/saml/sso"`;
    const issuerFormat = options.issuerFormat ? ` Format="${options.issuerFormat}"` : '';
    return `${options.before ?? ''}<samlp:AuthnRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${options.id ?? `_${randomUUID()}`}" Version="2.0" IssueInstant="${options.issueInstant ?? new Date(clock.now()).toISOString()}" ${attributes}><saml:Issuer${issuerFormat}>${options.issuer ?? plain.entityId}</saml:Issuer>${options.afterIssuer ?? ''}</samlp:AuthnRequest>`;
  }
  const redirect = (browser: TestBrowser, xml: string, extra = '') => browser.get(`${app.url}/saml/sso?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}${extra}`);
  const post = (browser: TestBrowser, fields: Record<string, string>) => browser.request(`${app.url}/saml/sso`, { method: 'POST', body: new URLSearchParams(fields) });
  const postXml = (browser: TestBrowser, xml: string) => post(browser, { SAMLRequest: Buffer.from(xml).toString('base64') });

  test('a well-formed unsigned request from an SP that does not sign is accepted (control case)', async () => {
    assert.ok(isPasswordPage(await redirect(new TestBrowser(), authnRequestXml())));
    assert.ok(isPasswordPage(await postXml(new TestBrowser(), authnRequestXml({ attributes: `Destination="${app.url}/saml/sso" AssertionConsumerServiceIndex="1"` }))));
  });

  test('xs:boolean attributes are read after whitespace collapse: ForceAuthn=" true" asks for the password, IsPassive=" true " answers NoPassive', async () => {
    const withAttribute = (attribute: string) => authnRequestXml({ attributes: `Destination="${app.url}/saml/sso" ${attribute}` });
    const browser = new TestBrowser();
    assert.ok(samlPostForm(await browser.submit(await redirect(browser, authnRequestXml()), { username: 'alice', password: 'Correct-horse-42' })), 'signed in');
    for (const value of [' true', 'true ', ' 1 ']) assert.ok(isPasswordPage(await redirect(browser, withAttribute(`ForceAuthn="${value}"`))), `ForceAuthn="${value}"`);
    assert.ok(samlPostForm(await redirect(browser, withAttribute('ForceAuthn=" false "'))), 'ForceAuthn=" false " reuses the session');
    const passive = samlPostForm(await redirect(new TestBrowser(), withAttribute('IsPassive=" true "')));
    assert.match(Buffer.from(passive.fields.SAMLResponse!, 'base64').toString('utf8'), /StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:NoPassive"/);
  });

  test('xs:anyURI attributes are read after whitespace collapse: Destination, AssertionConsumerServiceURL and ProtocolBinding with spaces around them', async () => {
    const attributes = `Destination=" ${app.url}/saml/sso " AssertionConsumerServiceURL="${plain.acsUrl}	" ProtocolBinding=" urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`;
    assert.ok(isPasswordPage(await redirect(new TestBrowser(), authnRequestXml({ attributes }))));
  });

  test('a URI attribute holding an invisible character (a right-to-left override) is refused as malformed, not compared or logged as another address', async () => {
    const attributes = `Destination="${app.url}/saml/sso" AssertionConsumerServiceURL="${plain.acsUrl}\u202E"`;
    await assertRefused((browser) => redirect(browser, authnRequestXml({ attributes })), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'malformed-attribute', message: INVALID });
  });

  test('an Issuer whose Format is not entity names something other than an SP: refused', async () => {
    await assertRefused((browser) => redirect(browser, authnRequestXml({ issuerFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' })), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'issuer-format', message: INVALID });
    assert.ok(isPasswordPage(await redirect(new TestBrowser(), authnRequestXml({ issuerFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity' }))), 'the entity format is the Issuer\'s own');
  });

  test('a request that names its subject gets an assertion only for that subject (saml-core §3.4.1.4)', async () => {
    await addLocalUser(app.services, 'bob', 'Correct-horse-42');
    const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
    const naming = (value: string) => authnRequestXml({ afterIssuer: `<saml:Subject><saml:NameID Format="${EMAIL}">${value}</saml:NameID></saml:Subject>` });
    const statusOf = (page: Page) => Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
    const browser = new TestBrowser();
    const passwordPage = await redirect(browser, naming('bob@example.org'));
    assert.match(passwordPage.body, /value="bob@example\.org"/, 'the named subject pre-fills the sign-in form');
    const asAlice = statusOf(await browser.submit(passwordPage, { username: 'alice', password: 'Correct-horse-42' }));
    assert.match(asAlice, /StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"/);
    assert.doesNotMatch(asAlice, /Assertion/, 'no assertion for someone the SP did not ask about');
    assert.ok(app.logs.some((line) => line.code === 'SAML_SUBJECT_MISMATCH'));
    const own = statusOf(await redirect(browser, naming('ALICE@example.org')));
    assert.match(own, /StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/, "alice's own email, in any case, is her");
    const byUsername = authnRequestXml({ afterIssuer: '<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">ALICE</saml:NameID></saml:Subject>' });
    assert.match(statusOf(await redirect(browser, byUsername)), /status:Success/, 'and so is her username in any case, as she signs in with it');
  });

  test('malformed base64, not DEFLATE, not XML, not UTF-8', async () => {
    await assertRefused((b) => b.get(`${app.url}/saml/sso?SAMLRequest=${encodeURIComponent('!!not base64!!')}`), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'malformed-base64', message: INVALID });
    await assertRefused((b) => post(b, { SAMLRequest: 'QUJD$$==' }), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'malformed-base64', message: INVALID });
    await assertRefused((b) => b.get(`${app.url}/saml/sso?SAMLRequest=${encodeURIComponent(Buffer.from(authnRequestXml()).toString('base64'))}`), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'malformed-deflate', message: INVALID });
    await assertRefused((b) => postXml(b, '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"'), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'schema', message: INVALID });
    await assertRefused((b) => post(b, { SAMLRequest: Buffer.from([0x3c, 0xff, 0xfe, 0x3e]).toString('base64') }), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'not-utf8', message: INVALID });
  });

  test('schema violations: unknown element, missing required attribute, wrong message type', async () => {
    const unknown = authnRequestXml().replace('</saml:Issuer>', '</saml:Issuer><samlp:Bogus/>');
    await assertRefused((b) => postXml(b, unknown), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'schema', message: INVALID });
    await assertRefused((b) => postXml(b, authnRequestXml().replace(/ Version="2.0"/, '')), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'schema', message: INVALID });
    const logout = `<samlp:LogoutRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x${randomUUID()}" Version="2.0" IssueInstant="${new Date(clock.now()).toISOString()}"><saml:Issuer>${plain.entityId}</saml:Issuer><saml:NameID>n</saml:NameID></samlp:LogoutRequest>`;
    await assertRefused((b) => postXml(b, logout), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'unexpected-message', message: INVALID });
  });

  test('oversized SAMLRequest: refused by length before decoding, and by the body limit', async () => {
    await assertRefused((b) => post(b, { SAMLRequest: 'A'.repeat(90_000) }), { status: 413, code: 'REQUEST_TOO_LARGE', reason: 'saml-message-too-large', message: /too large/ });
    await assertRefused((b) => post(b, { SAMLRequest: 'A'.repeat(300_000) }), { status: 413, code: 'REQUEST_TOO_LARGE', message: /too large/, audited: false });
  });

  test('a message of maxRequestBytes as browsers send it reaches the SAML checks; one built of "/" only (three characters each in a form) meets the body limit', async () => {
    const size = app.services.config.saml.maxRequestBytes;
    // Random bytes: "+" and "/" are 2 of base64's 64 characters, as in real messages (a few in a hundred).
    const ordinary = randomBytes(size).toString('base64');
    assert.ok(new URLSearchParams({ SAMLRequest: ordinary }).toString().length > ordinary.length * 1.05);
    await assertRefused((b) => post(b, { SAMLRequest: ordinary }), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'not-utf8', message: INVALID });
    // 0xFF bytes are "////": 262 KB of form for a 64 KiB message, which every connection could make the server hold.
    const slashes = Buffer.alloc(size, 0xff).toString('base64');
    await assertRefused((b) => post(b, { SAMLRequest: slashes }), { status: 413, code: 'REQUEST_TOO_LARGE', message: /too large/, audited: false });
  });

  test('a DEFLATE bomb on the Redirect binding stops at maxInflatedBytes', async () => {
    const bomb = authnRequestXml().replace('</saml:Issuer>', `</saml:Issuer><!--${' '.repeat(4 * 1024 * 1024)}-->`);
    const started = performance.now();
    await assertRefused((b) => redirect(b, bomb), { status: 413, code: 'REQUEST_TOO_LARGE', reason: 'inflated-message-too-large', message: /too large/ });
    assert.ok(performance.now() - started < 5_000);
  });

  test('DOCTYPE and ENTITY declarations are refused before parsing (XXE, billion laughs)', async () => {
    const xxe = authnRequestXml({ before: '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' }).replace(plain.entityId, '&x;');
    await assertRefused((b) => postXml(b, xxe), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'doctype-or-entity', message: INVALID });
    const laughs = `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>`;
    await assertRefused((b) => redirect(b, authnRequestXml({ before: laughs })), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'doctype-or-entity', message: INVALID });
  });

  test('a flood of namespace declarations is refused before parsing (it made the XML parser block the server for seconds)', async () => {
    // Far over the limit of 64, yet a Redirect URL (about 3.5 KB) well within the 16 KB a request head may have.
    const prefixes = Array.from({ length: 1000 }, (_, n) => ` xmlns:a${n}="u"`).join('');
    const children = '<b xmlns="u"/>'.repeat(300);
    const flood = authnRequestXml({ attributes: `Destination="${app.url}/saml/sso"${prefixes}`, afterIssuer: `<samlp:Extensions>${children}</samlp:Extensions>` });
    await assertRefused((b) => redirect(b, flood), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'too-many-namespace-declarations', message: INVALID });
    await assertRefused((b) => postXml(b, authnRequestXml({ attributes: `Destination="${app.url}/saml/sso"${prefixes.slice(0, 2000)}` })), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'too-many-namespace-declarations', message: INVALID });
    // A message with the usual handful still passes (the control case's two, plus a few more).
    assert.ok(isPasswordPage(await redirect(new TestBrowser(), authnRequestXml({ attributes: `Destination="${app.url}/saml/sso" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xs="http://www.w3.org/2001/XMLSchema"` }))));
  });

  test('a flood of elements, comments or processing instructions is refused before parsing (tens of thousands deflate to under 1 KB)', async () => {
    // Each within saml.maxInflatedBytes (256 KiB).
    for (const item of ['<f/>', '<!---->', '<?p?>']) {
      const flood = authnRequestXml({ afterIssuer: `<samlp:Extensions><e xmlns="urn:example">${item.repeat(30_000)}</e></samlp:Extensions>` });
      await assertRefused((b) => redirect(b, flood), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'too-much-markup', message: INVALID });
    }
    await assertRefused((b) => postXml(b, authnRequestXml({ afterIssuer: `<samlp:Extensions><e xmlns="urn:example">${'<f/>'.repeat(10_000)}</e></samlp:Extensions>` })), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'too-much-markup', message: INVALID });
    // Extensions with a few hundred elements still pass.
    assert.ok(isPasswordPage(await redirect(new TestBrowser(), authnRequestXml({ afterIssuer: `<samlp:Extensions><e xmlns="urn:example">${'<f/>'.repeat(500)}</e></samlp:Extensions>` }))));
    // The limit is exact: 2,000 '<' pass, one more is refused.
    const withMarkup = (count: number) => {
      const around = authnRequestXml({ afterIssuer: '<samlp:Extensions><e xmlns="urn:example"></e></samlp:Extensions>' }).split('<').length - 1;
      return authnRequestXml({ afterIssuer: `<samlp:Extensions><e xmlns="urn:example">${'<f/>'.repeat(count - around)}</e></samlp:Extensions>` });
    };
    assert.ok(isPasswordPage(await redirect(new TestBrowser(), withMarkup(2_000))));
    await assertRefused((b) => redirect(b, withMarkup(2_001)), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'too-much-markup', message: INVALID });
  });

  test('an unknown SP is refused with RP_UNKNOWN', async () => {
    await assertRefused((b) => redirect(b, authnRequestXml({ issuer: 'https://unknown.example/sp' })), { status: 400, code: 'RP_UNKNOWN', message: /not registered/ });
    await assertRefused((b) => b.get(`${app.url}/saml/idp-init?sp=${encodeURIComponent('https://unknown.example/sp')}`), { status: 400, code: 'RP_UNKNOWN', message: /not registered/ });
  });

  test('idp-init with a repeated sp or RelayState is refused, as a repeated parameter of an SP message is', async () => {
    const sp = encodeURIComponent(plain.entityId);
    await assertRefused((b) => b.get(`${app.url}/saml/idp-init?sp=${sp}&sp=${encodeURIComponent('https://unknown.example/sp')}`), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'duplicate-parameter', message: INVALID });
    await assertRefused((b) => b.get(`${app.url}/saml/idp-init?sp=${sp}&RelayState=a&RelayState=b`), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'duplicate-parameter', message: INVALID });
  });

  test('an Issuer wrapped in no-break or ideographic spaces is not the registered SP: only XML white space is trimmed', async () => {
    await assertRefused((b) => redirect(b, authnRequestXml({ issuer: `\u00a0${plain.entityId}\u3000` })), { status: 400, code: 'RP_UNKNOWN', message: /not registered/ });
  });

  // 200,000 spaces inside a value deflate to a URL of about 1 KB. Trimming them with a regular
  // expression took the square of their number (over a minute, the event loop held); the timeout
  // is far above what the refusal takes, and far below that.
  test('white space inside an Issuer or a Destination is refused as any bad value is, with the server free meanwhile', { timeout: 20_000 }, async () => {
    const inside = ' '.repeat(200_000);
    await assertRefused((b) => redirect(b, authnRequestXml({ issuer: `https:${inside}//unknown.example/sp` })), { status: 400, code: 'RP_UNKNOWN', message: /not registered/ });
    await assertRefused((b) => redirect(b, authnRequestXml({ attributes: `Destination="${app.url}${inside}/saml/sso"` })), { status: 400, code: 'SAML_REQUEST_INVALID', message: INVALID });
  });

  test('an Issuer or sp named like an Object property (__proto__, constructor ...) is an unknown SP, not a server error', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      await assertRefused((b) => redirect(b, authnRequestXml({ issuer: name })), { status: 400, code: 'RP_UNKNOWN', message: /not registered/ });
      await assertRefused((b) => b.get(`${app.url}/saml/idp-init?sp=${name}`), { status: 400, code: 'RP_UNKNOWN', message: /not registered/ });
    }
  });

  test('signatures: missing where required, tampered, SHA-1', async () => {
    const url = new URL((await signing.authnRequest('state')).url);
    const unsigned = new URL(url);
    unsigned.searchParams.delete('Signature');
    unsigned.searchParams.delete('SigAlg');
    await assertRefused((b) => b.get(unsigned.toString()), { status: 400, code: 'SAML_SIGNATURE_INVALID', reason: 'unsigned-request', message: SIGNATURE });
    const tampered = url.toString().replace('RelayState=state', 'RelayState=other');
    await assertRefused((b) => b.get(tampered), { status: 400, code: 'SAML_SIGNATURE_INVALID', reason: 'redirect-signature-mismatch', message: SIGNATURE });
    const sha1 = (await signing.authnRequest('', { signatureAlgorithm: 'sha1' })).url;
    await assertRefused((b) => b.get(sha1), { status: 400, code: 'SAML_SIGNATURE_INVALID', reason: 'signature-algorithm', message: SIGNATURE });
    const postUnsigned = authnRequestXml({ issuer: signingPost.entityId });
    await assertRefused((b) => postXml(b, postUnsigned), { status: 400, code: 'SAML_SIGNATURE_INVALID', reason: 'unsigned-request', message: SIGNATURE });
  });

  test('a Redirect-binding request carrying a Signature element in its XML is refused: that binding signs in the query only (saml-bindings §3.4.4.1)', async () => {
    const { fields } = await signingPost.authnRequest();
    const signedXml = Buffer.from(fields!.SAMLRequest!, 'base64').toString('utf8');
    assert.match(signedXml, /Signature/);
    await assertRefused((b) => redirect(b, signedXml), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'embedded-signature-in-redirect-binding', message: INVALID });
  });

  test('a Redirect-binding request with a Signature and no SigAlg, or a SigAlg and no Signature, is refused, not read as unsigned', async () => {
    for (const half of ['&Signature=c2lnbmF0dXJl', `&SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}`]) {
      await assertRefused((b) => redirect(b, authnRequestXml(), half), { status: 400, code: 'SAML_SIGNATURE_INVALID', message: SIGNATURE });
    }
  });

  test('a replayed request is refused; the first one was accepted', async () => {
    const { url } = await signing.authnRequest();
    assert.ok(isPasswordPage(await new TestBrowser().get(url)));
    await assertRefused((b) => b.get(url), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'replayed', message: INVALID });
  });

  test('expired and future-dated requests are refused (requestMaxAgeSeconds, clockSkewSeconds)', async () => {
    const { url } = await signing.authnRequest();
    offsetMs = (app.services.config.saml.requestMaxAgeSeconds + app.services.config.saml.clockSkewSeconds + 5) * 1000;
    try {
      await assertRefused((b) => b.get(url), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'request-expired', message: INVALID });
    } finally {
      offsetMs = 0;
    }
    const future = authnRequestXml({ issueInstant: new Date(Date.now() + 10 * 60_000).toISOString() });
    await assertRefused((b) => redirect(b, future), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'issue-instant-in-future', message: INVALID });
  });

  test('a wrong Destination is refused, even with a valid signature', async () => {
    const elsewhere = new URL((await signing.authnRequest('', { entryPoint: 'https://elsewhere.example/saml/sso' })).url);
    await assertRefused((b) => b.get(`${app.url}/saml/sso${elsewhere.search}`), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'wrong-destination', message: INVALID });
  });

  test('an ACS URL or index missing from the metadata is refused with an error page, never a redirect', async () => {
    const evil = await signing.authnRequest('', { callbackUrl: 'https://evil.example/acs' });
    await assertRefused(async (b) => {
      const page = await b.get(evil.url, { followRedirects: false });
      assert.doesNotMatch(page.body, /evil\.example/);
      assert.equal(page.headers.get('location'), null);
      return page;
    }, { status: 400, code: 'ACS_NOT_REGISTERED', message: /not registered for it/ });
    const index = authnRequestXml({ attributes: `Destination="${app.url}/saml/sso" AssertionConsumerServiceIndex="9"` });
    await assertRefused((b) => redirect(b, index), { status: 400, code: 'ACS_NOT_REGISTERED', message: /not registered for it/ });
  });

  test('a sign-out step with nothing parked under its id is titled and worded as a sign-out, not a sign-in', async () => {
    const page = await new TestBrowser().get(`${app.url}/saml/slo/continue?id=forged`);
    assert.equal(page.status, 400);
    assert.match(page.body, /<title>Sign-out expired/);
    assert.match(page.body, /This sign-out has expired or is not valid any more\. To be sure you are signed out, go back to the application and sign out again there\./);
    assert.doesNotMatch(page.body, /sign-in has expired/i);
  });

  test('a RelayState over 1 KB is refused', async () => {
    await assertRefused((b) => redirect(b, authnRequestXml(), `&RelayState=${'r'.repeat(1025)}`), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'relay-state-too-long', message: INVALID });
    await assertRefused((b) => b.get(`${app.url}/saml/idp-init?sp=${encodeURIComponent(plain.entityId)}&RelayState=${'r'.repeat(1025)}`), { status: 400, code: 'SAML_REQUEST_INVALID', reason: 'relay-state-too-long', message: /This sign-in link is not valid, so it was not used/ });
  });

  describe('signature wrapping (POST binding, signed AuthnRequest)', () => {
    let signedXml: string;
    const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml');
    const serialize = (doc: Document) => new XMLSerializer().serializeToString(doc);

    /** A foreign-namespace wrapper inside samlp:Extensions (schema-valid: Extensions takes ##other, lax). */
    function extensionsWith(doc: Document, ...children: Node[]): Element {
      const extensions = doc.createElementNS(PROTOCOL, 'samlp:Extensions');
      const wrapper = doc.createElementNS('urn:example:evil', 'evil:Wrapper');
      for (const child of children) wrapper.appendChild(child);
      extensions.appendChild(wrapper);
      return extensions;
    }
    const signatureOf = (doc: Document) => doc.getElementsByTagNameNS(DSIG, 'Signature')[0]!;

    before(async () => {
      const { fields } = await signingPost.authnRequest();
      signedXml = Buffer.from(fields!.SAMLRequest!, 'base64').toString('utf8');
    });

    /** Whichever layer stops it (schema: duplicate xs:ID; samlify; our signature-shape check), it must be stopped. */
    const refusedWrapped = (xml: string) => assertRefused((b) => postXml(b, xml), { status: 400, code: ['SAML_SIGNATURE_INVALID', 'SAML_REQUEST_INVALID'], message: /could not be verified as coming from it|is not valid, so it was refused/ });

    test('control: the unmodified signed request is accepted', async () => {
      const { fields } = await signingPost.authnRequest();
      assert.ok(isPasswordPage(await post(new TestBrowser(), fields!)));
    });

    test('signed request wrapped in Extensions under a forged root carrying its signature', async () => {
      const original = parse(signedXml);
      const forged = parse(signedXml);
      const root = forged.documentElement;
      root.setAttribute('ID', `_forged${randomUUID()}`);
      root.setAttribute('AssertionConsumerServiceURL', 'https://evil.example/acs');
      const wrapped = forged.importNode(original.documentElement, true);
      wrapped.removeChild(wrapped.getElementsByTagNameNS(DSIG, 'Signature')[0]!); // the copy stays referenced by ID only
      root.insertBefore(extensionsWith(forged, wrapped), signatureOf(forged).nextSibling);
      await refusedWrapped(serialize(forged));
    });

    test('duplicated signature', async () => {
      const doc = parse(signedXml);
      doc.documentElement.insertBefore(extensionsWith(doc, signatureOf(doc).cloneNode(true)), signatureOf(doc).nextSibling);
      await refusedWrapped(serialize(doc));
    });

    test('signed element moved: the signature is no longer a child of the root', async () => {
      const doc = parse(signedXml);
      const signature = signatureOf(doc);
      doc.documentElement.removeChild(signature);
      doc.documentElement.insertBefore(extensionsWith(doc, signature), doc.documentElement.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Issuer')[0]!.nextSibling);
      await refusedWrapped(serialize(doc));
    });

    test('a second, unsigned request with the same ID inserted', async () => {
      const doc = parse(signedXml);
      const copy = doc.documentElement.cloneNode(true) as Element;
      copy.removeChild(copy.getElementsByTagNameNS(DSIG, 'Signature')[0]!);
      copy.setAttribute('AssertionConsumerServiceURL', 'https://evil.example/acs');
      doc.documentElement.insertBefore(extensionsWith(doc, copy), signatureOf(doc).nextSibling);
      await refusedWrapped(serialize(doc));
    });
  });
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, redirectMessageXml, samlPostForm } from '../helpers/saml-sp.ts';

/**
 * What makes an issued bearer assertion usable only where and when it was meant to be
 * (saml-profiles §4.1.4.2, saml-core §2.5.1): its SubjectConfirmationData names the ACS URL it is for
 * (Recipient) and the AuthnRequest it answers (InResponseTo, on the assertion itself, not only on the
 * Response it can be cut out of), and it and the Conditions end saml.assertionLifetimeSeconds after
 * it was issued. A stolen assertion is then refused by another SP's ACS, as unsolicited, and late.
 */
const PASSWORD = 'Correct-horse-42';
const ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
// Not the default (300), so the configured value is the one seen.
const LIFETIME_SECONDS = 60;

let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };
let app: Booted;
let sp: TestSp;

before(async () => {
  app = await boot({ saml: { assertionLifetimeSeconds: LIFETIME_SECONDS } }, { clock });
  await addLocalUser(app.services, 'alice', PASSWORD);
  sp = await TestSp.create(app, { name: 'r9-confirmation' });
});
after(() => app?.close());

/** SP-initiated sign-in in a new browser: the AuthnRequest's ID, and the page with the SAMLResponse form. */
async function spInitiated(): Promise<{ requestId: string; page: Page }> {
  const browser = new TestBrowser();
  const { url } = await sp.authnRequest();
  const requestId = /\bID="([^"]+)"/.exec(redirectMessageXml(url, 'SAMLRequest'))![1]!;
  const login = await browser.get(url);
  assert.ok(isPasswordPage(login));
  return { requestId, page: await browser.submit(login, { username: 'alice', password: PASSWORD }) };
}

/** xmldom reads an absent attribute as '': absent must not pass for empty. */
const attributeOrAbsent = (element: Element, name: string): string | undefined => (element.hasAttribute(name) ? element.getAttribute(name)! : undefined);

interface Confirmation {
  responseInResponseTo: string | undefined;
  issueInstant: number;
  method: string | undefined;
  data: Element;
  conditions: Element;
}

/** The assertion's own elements, read through a DOM: the Response's attributes cannot stand in for them. */
function confirmationOf(page: Page): Confirmation {
  const xml = Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
  const response = new DOMParser().parseFromString(xml, 'text/xml').documentElement!;
  assert.equal(response.namespaceURI, PROTOCOL);
  const assertions = response.getElementsByTagNameNS(ASSERTION, 'Assertion');
  assert.equal(assertions.length, 1, 'one plain assertion');
  const assertion = assertions[0]!;
  const only = (parent: Element, name: string): Element => {
    const found = Array.from(parent.childNodes as ArrayLike<Node>).filter((node): node is Element => node.nodeType === 1 && (node as Element).namespaceURI === ASSERTION && (node as Element).localName === name);
    assert.equal(found.length, 1, `one saml:${name} in saml:${parent.localName}`);
    return found[0]!;
  };
  const subjectConfirmation = only(only(assertion, 'Subject'), 'SubjectConfirmation');
  return {
    responseInResponseTo: attributeOrAbsent(response, 'InResponseTo'),
    issueInstant: Date.parse(assertion.getAttribute('IssueInstant')!),
    method: attributeOrAbsent(subjectConfirmation, 'Method'),
    data: only(subjectConfirmation, 'SubjectConfirmationData'),
    conditions: only(assertion, 'Conditions'),
  };
}

test('SP-initiated: the bearer SubjectConfirmationData names the ACS URL as Recipient and the AuthnRequest as InResponseTo', async () => {
  const { requestId, page } = await spInitiated();
  const { data, method, responseInResponseTo } = confirmationOf(page);
  assert.equal(method, BEARER);
  assert.equal(attributeOrAbsent(data, 'Recipient'), sp.acsUrl);
  assert.equal(attributeOrAbsent(data, 'InResponseTo'), requestId);
  assert.equal(responseInResponseTo, requestId);
  const { profile } = await sp.validate(samlPostForm(page).fields.SAMLResponse!);
  assert.ok(profile?.nameID, 'node-saml accepts it');
});

test('IdP-initiated: Recipient is the SP\'s default ACS URL and no InResponseTo is claimed, on the assertion or the Response', async () => {
  const browser = new TestBrowser();
  const login = await browser.get(`${app.url}/saml/idp-init?sp=${encodeURIComponent(sp.entityId)}`);
  assert.ok(isPasswordPage(login));
  const page = await browser.submit(login, { username: 'alice', password: PASSWORD });
  const { data, responseInResponseTo } = confirmationOf(page);
  assert.equal(attributeOrAbsent(data, 'Recipient'), sp.acsUrl);
  assert.equal(attributeOrAbsent(data, 'InResponseTo'), undefined);
  assert.equal(responseInResponseTo, undefined);
});

test('the SubjectConfirmationData and the Conditions end saml.assertionLifetimeSeconds after the assertion was issued', async () => {
  const { page } = await spInitiated();
  const { issueInstant, data, conditions } = confirmationOf(page);
  const expected = new Date(issueInstant + LIFETIME_SECONDS * 1000).toISOString();
  assert.equal(attributeOrAbsent(data, 'NotOnOrAfter'), expected);
  assert.equal(attributeOrAbsent(conditions, 'NotOnOrAfter'), expected);
});

test('the SP refuses the assertion once its lifetime is over, and accepts it before', async () => {
  // Stepgate's clock behind the SP's (still within clockSkewSeconds for the AuthnRequest), so the
  // assertion reaches node-saml, which reads the real time, that long after it was issued.
  try {
    offsetMs = -(LIFETIME_SECONDS - 10) * 1000;
    const inTime = await spInitiated();
    assert.ok((await sp.validate(samlPostForm(inTime.page).fields.SAMLResponse!)).profile?.nameID, '10 s before the end: accepted');
    offsetMs = -(LIFETIME_SECONDS + 10) * 1000;
    const late = await spInitiated();
    // node-saml checks the SubjectConfirmationData's times first: no confirmation still valid.
    await assert.rejects(sp.validate(samlPostForm(late.page).fields.SAMLResponse!), /No valid subject confirmation|expired/, '10 s after the end: refused');
  } finally {
    offsetMs = 0;
  }
});

/**
 * (b) SAML SP-initiated sign-in over the HTTP-Redirect binding, as an SP and a browser would do it:
 * a (signed) AuthnRequest, password, TOTP, then the auto-post form with the SAMLResponse. The
 * Response is checked like an SP must: XML signature (xml-crypto) against the metadata certificate,
 * values read only from the signed XML, InResponseTo, Destination, Recipient, Audience, status, the
 * AuthnContextClassRef of a password + TOTP sign-in, and whom it is about: the uid attribute must be
 * the user who signed in, and the persistent NameID the same for that user every time and no one else's.
 */
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { BenchError, formWith, Jar, type HttpClient } from './http.ts';
import type { UserPicker } from './users.ts';
import type { DriverSetup, SamlSetup, SignInOutcome } from './protocol.ts';
import { passwordThenTotp } from './sign-in.ts';
import { SubjectLedger } from './subjects.ts';

const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
/** The bench SP gets Stepgate's default attribute release, whose uid (this OID) is the username. */
const UID = 'urn:oid:0.9.2342.19200300.100.1.1';

export interface SamlContext {
  http: HttpClient;
  setup: SamlSetup;
  users: UserPicker;
  mfaAcr: string;
  subjects: SubjectLedger;
  spKey?: KeyObject;
}

export function samlContext(http: HttpClient, driver: DriverSetup, users: UserPicker): SamlContext {
  const setup = driver.saml;
  if (!setup) throw new Error('the IdP has no SAML SP for the bench');
  const subjects = new SubjectLedger(driver.subjectBuffer, driver.users);
  return { http, setup, users, mfaAcr: driver.mfaAcr, subjects, spKey: setup.spPrivateKeyPem ? createPrivateKey(setup.spPrivateKeyPem) : undefined };
}

function authnRequest(setup: SamlSetup, id: string): string {
  return (
    `<samlp:AuthnRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="${ASSERTION}" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}" ` +
    `Destination="${setup.ssoRedirectUrl}" AssertionConsumerServiceURL="${setup.acsUrl}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${setup.spEntityId}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/></samlp:AuthnRequest>`
  );
}

/** The Redirect-binding URL: deflated request, RelayState and, for a signing SP, SigAlg + Signature over the query octets. */
function redirectUrl(ctx: SamlContext, id: string, relayState: string): string {
  const request = deflateRawSync(authnRequest(ctx.setup, id)).toString('base64');
  let query = `SAMLRequest=${encodeURIComponent(request)}&RelayState=${encodeURIComponent(relayState)}`;
  if (ctx.spKey) {
    query += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
    query += `&Signature=${encodeURIComponent(sign('sha256', Buffer.from(query), ctx.spKey).toString('base64'))}`;
  }
  const separator = ctx.setup.ssoRedirectUrl.includes('?') ? '&' : '?';
  return ctx.setup.ssoRedirectUrl + separator + query;
}

function child(parent: Element | Document, ns: string, name: string): Element | undefined {
  return (parent.getElementsByTagNameNS(ns, name)[0] as Element | undefined) ?? undefined;
}

function text(parent: Element | Document, ns: string, name: string): string | undefined {
  return child(parent, ns, name)?.textContent?.trim();
}

/** The Assertion as it was signed, parsed from the canonical XML xml-crypto verified (never from the unsigned document). */
function signedAssertion(xml: string, document: Document, certificates: string[]): Element {
  const signatures = Array.from(document.getElementsByTagNameNS(DSIG, 'Signature'));
  if (signatures.length === 0) throw new BenchError('saml response', 'not signed');
  for (const node of signatures) {
    for (const publicCert of certificates) {
      const verifier = new SignedXml({ publicCert });
      verifier.loadSignature(node);
      let valid = false;
      try {
        valid = verifier.checkSignature(xml);
      } catch {
        valid = false;
      }
      if (!valid) continue;
      for (const reference of verifier.getSignedReferences()) {
        const signed = new DOMParser().parseFromString(reference, 'text/xml');
        const assertion = signed.documentElement?.localName === 'Assertion' ? signed.documentElement : child(signed, ASSERTION, 'Assertion');
        if (assertion) return assertion;
      }
    }
  }
  throw new BenchError('saml response', 'no Assertion under a valid IdP signature');
}

/** The values of the signed assertion's attribute `name`. */
function attributeValues(assertion: Element, name: string): string[] {
  const attribute = Array.from(assertion.getElementsByTagNameNS(ASSERTION, 'Attribute')).find((element) => element.getAttribute('Name') === name);
  return attribute ? Array.from(attribute.getElementsByTagNameNS(ASSERTION, 'AttributeValue')).map((value) => value.textContent?.trim() ?? '') : [];
}

/** Checks a Response as the SP of `user`'s sign-in must; returns the NameID for the ledger of subjects. */
export function checkResponse(ctx: SamlContext, encoded: string, requestId: string, receivedAt: number, user: number): { nameId: string } {
  const { setup } = ctx;
  const xml = Buffer.from(encoded, 'base64').toString('utf8');
  const document = new DOMParser().parseFromString(xml, 'text/xml');
  const response = document.documentElement;
  if (!response || response.namespaceURI !== PROTOCOL || response.localName !== 'Response') throw new BenchError('saml response', 'not a samlp:Response');
  const fail = (what: string) => {
    throw new BenchError('saml response', what);
  };
  if (response.getAttribute('InResponseTo') !== requestId) fail(`InResponseTo ${response.getAttribute('InResponseTo')}`);
  if (response.getAttribute('Destination') !== setup.acsUrl) fail(`Destination ${response.getAttribute('Destination')}`);
  const status = child(response, PROTOCOL, 'StatusCode')?.getAttribute('Value');
  if (status !== SUCCESS) fail(`status ${status}`);
  const assertion = signedAssertion(xml, document, setup.idpCertificates);
  if (text(assertion, ASSERTION, 'Issuer') !== setup.idpEntityId) fail(`assertion issuer ${text(assertion, ASSERTION, 'Issuer')}`);
  if (text(assertion, ASSERTION, 'Audience') !== setup.spEntityId) fail(`audience ${text(assertion, ASSERTION, 'Audience')}`);
  const confirmation = child(assertion, ASSERTION, 'SubjectConfirmationData');
  if (confirmation?.getAttribute('InResponseTo') !== requestId) fail('SubjectConfirmationData InResponseTo');
  if (confirmation?.getAttribute('Recipient') !== setup.acsUrl) fail('SubjectConfirmationData Recipient');
  const notOnOrAfter = Date.parse(child(assertion, ASSERTION, 'Conditions')?.getAttribute('NotOnOrAfter') ?? '');
  if (!(notOnOrAfter > receivedAt)) fail('Conditions NotOnOrAfter');
  const acr = text(assertion, ASSERTION, 'AuthnContextClassRef');
  if (acr !== ctx.mfaAcr) fail(`AuthnContextClassRef ${acr}, expected ${ctx.mfaAcr}`);
  const uid = attributeValues(assertion, UID);
  if (uid.length !== 1 || uid[0] !== `user${user}`) fail(`uid ${JSON.stringify(uid)} is not user${user}`);
  const nameIdElement = child(assertion, ASSERTION, 'NameID');
  const nameId = nameIdElement?.textContent?.trim();
  if (!nameId) fail('no NameID');
  if (nameIdElement!.getAttribute('Format') !== PERSISTENT) fail(`NameID format ${nameIdElement!.getAttribute('Format')}, expected the SP's persistent`);
  return { nameId: nameId! };
}

/** One sign-in of the next user in turn, or of `as`. */
export async function samlSignIn(ctx: SamlContext, as?: number): Promise<SignInOutcome & { verify: () => void }> {
  const jar = new Jar();
  const id = `_${randomBytes(16).toString('hex')}`;
  const relayState = randomBytes(8).toString('hex');
  const first = await ctx.http.follow('GET', redirectUrl(ctx, id, relayState), { jar });
  const { reply, user, step } = await passwordThenTotp(ctx.http, jar, first, ctx.users, as);
  const post = formWith(reply, 'SAMLResponse', 'saml response');
  if (post.action !== ctx.setup.acsUrl) throw new BenchError('saml response', `posts to ${post.action}, not the ACS ${ctx.setup.acsUrl}`);
  if (post.fields.RelayState !== relayState) throw new BenchError('saml response', 'RelayState changed');
  const encoded = post.fields.SAMLResponse!;
  const receivedAt = Date.now();
  // Verifying an XML signature costs the driver several times what signing costs the IdP: it is done
  // for every response, after the measured window, so that it does not take CPU from the IdP.
  return {
    record: { user, totpStep: step, sessionId: jar.get('sg_session'), at: receivedAt },
    verify: () => ctx.subjects.note(user, checkResponse(ctx, encoded, id, receivedAt, user).nameId),
    evidence: { samlResponse: encoded, requestId: id, receivedAt },
  };
}

import type { ReleasedAttribute } from '../rp/claims.ts';
import { ATTRNAME_FORMAT, NS, STATUS, SUBJECT_CONFIRMATION_BEARER } from './constants.ts';
import { element, text } from './canonical-xml.ts';

/**
 * The XML Stepgate sends, written out rather than templated through samlify, in the schema's element
 * order and already in exclusive canonical form (canonical-xml.ts), so signing needs no DOM.
 */

export interface MessageHeader {
  id: string;
  issueInstant: Date;
  issuer: string;
  destination: string;
  inResponseTo?: string;
}

export interface SamlStatus {
  top: string;
  second?: string;
  message?: string;
}

export interface NameIdContent {
  value: string;
  format?: string;
  nameQualifier?: string;
  spNameQualifier?: string;
}

export interface AssertionContent {
  id: string;
  audience: string;
  nameId: NameIdContent & { format: string };
  /** End of the bearer confirmation and of the Conditions window. */
  notOnOrAfter: Date;
  authnInstant: Date;
  sessionIndex: string;
  /**
   * When the SSO session ends whatever its use (its absolute lifetime): the SP must not keep its own
   * session past it (saml-core §2.7.2; Shibboleth SP ends its session then).
   */
  sessionNotOnOrAfter?: Date;
  authnContextClassRef: string;
  attributes: ReleasedAttribute[];
}

/** An SP whose clock lags ours would find the assertion not yet valid; IdPs backdate NotBefore for it (AD FS NotBeforeSkew, OpenSSO's skew factor). */
const NOT_BEFORE_BACKDATE_MS = 60_000;

const SAMLP = { samlp: NS.protocol };
const SAML = { saml: NS.assertion };

export function successResponseXml(header: MessageHeader, assertion: AssertionContent): string {
  return element('samlp:Response', { ns: SAMLP, attributes: headerAttributes(header) }, issuerXml(header), statusXml({ top: STATUS.success }), assertionXml(header, assertion));
}

/** A Response carrying only an error status (no assertion), e.g. Requester/InvalidNameIDPolicy. */
export function statusResponseXml(header: MessageHeader, status: SamlStatus): string {
  return element('samlp:Response', { ns: SAMLP, attributes: headerAttributes(header) }, issuerXml(header), statusXml(status));
}

export function logoutResponseXml(header: MessageHeader, status: SamlStatus): string {
  return element('samlp:LogoutResponse', { ns: SAMLP, attributes: headerAttributes(header) }, issuerXml(header), statusXml(status));
}

/** saml-core §3.7.3: the principal asked to end the session (as opposed to an administrator). */
const LOGOUT_REASON_USER = 'urn:oasis:names:tc:SAML:2.0:logout:user';

export interface LogoutRequestContent {
  nameId: NameIdContent;
  sessionIndex?: string;
  /** After this the SP must not act on the request any more (saml-core §3.7.1). */
  notOnOrAfter: Date;
}

/** Sent to each other participant of an ended session (Single Logout propagation). */
export function logoutRequestXml(header: MessageHeader, content: LogoutRequestContent): string {
  const attributes = { ...headerAttributes(header), NotOnOrAfter: content.notOnOrAfter.toISOString(), Reason: LOGOUT_REASON_USER };
  return element(
    'samlp:LogoutRequest',
    { ns: SAMLP, attributes },
    issuerXml(header),
    // Its sibling Issuer's declaration is not in scope here, so the NameID declares saml: itself.
    nameIdXml(content.nameId, SAML),
    content.sessionIndex ? element('samlp:SessionIndex', {}, text(content.sessionIndex)) : '',
  );
}

function headerAttributes(header: MessageHeader): Record<string, string | undefined> {
  return { ID: header.id, Version: '2.0', IssueInstant: header.issueInstant.toISOString(), Destination: header.destination, InResponseTo: header.inResponseTo };
}

/** The message's Issuer declares saml: itself: in canonical form the root does not (it does not use it). */
function issuerXml(header: MessageHeader): string {
  return element('saml:Issuer', { ns: SAML }, text(header.issuer));
}

function statusXml(status: SamlStatus): string {
  const second = status.second ? element('samlp:StatusCode', { attributes: { Value: status.second } }) : '';
  const message = status.message ? element('samlp:StatusMessage', {}, text(status.message)) : '';
  return element('samlp:Status', {}, element('samlp:StatusCode', { attributes: { Value: status.top } }, second), message);
}

function nameIdXml(nameId: NameIdContent, ns?: Record<string, string>): string {
  return element('saml:NameID', { ns, attributes: { Format: nameId.format, NameQualifier: nameId.nameQualifier, SPNameQualifier: nameId.spNameQualifier } }, text(nameId.value));
}

function assertionXml(header: MessageHeader, a: AssertionContent): string {
  const instant = header.issueInstant.toISOString();
  const notOnOrAfter = a.notOnOrAfter.toISOString();
  return element(
    'saml:Assertion',
    { ns: SAML, attributes: { ID: a.id, Version: '2.0', IssueInstant: instant } },
    element('saml:Issuer', {}, text(header.issuer)),
    element(
      'saml:Subject',
      {},
      nameIdXml(a.nameId),
      element(
        'saml:SubjectConfirmation',
        { attributes: { Method: SUBJECT_CONFIRMATION_BEARER } },
        element('saml:SubjectConfirmationData', { attributes: { NotOnOrAfter: notOnOrAfter, Recipient: header.destination, InResponseTo: header.inResponseTo } }),
      ),
    ),
    element('saml:Conditions', { attributes: { NotBefore: new Date(header.issueInstant.getTime() - NOT_BEFORE_BACKDATE_MS).toISOString(), NotOnOrAfter: notOnOrAfter } }, element('saml:AudienceRestriction', {}, element('saml:Audience', {}, text(a.audience)))),
    element(
      'saml:AuthnStatement',
      { attributes: { AuthnInstant: a.authnInstant.toISOString(), SessionIndex: a.sessionIndex, SessionNotOnOrAfter: a.sessionNotOnOrAfter?.toISOString() } },
      element('saml:AuthnContext', {}, element('saml:AuthnContextClassRef', {}, text(a.authnContextClassRef))),
    ),
    a.attributes.length ? element('saml:AttributeStatement', {}, ...a.attributes.map(attributeXml)) : '',
  );
}

/**
 * xs/xsi are declared on each value, so an extracted assertion stays self-contained. xsi is used by
 * xsi:type and so kept by exc-c14n; xs only appears inside a value, which is why signatures name it
 * in their InclusiveNamespaces PrefixList (canonical-signature.ts).
 */
function attributeXml(attribute: ReleasedAttribute): string {
  const values = attribute.values.map((value) =>
    element('saml:AttributeValue', { ns: { xs: NS.xs, xsi: NS.xsi }, attributes: { 'xsi:type': 'xs:string' }, attributeNs: { xsi: NS.xsi } }, text(value)),
  );
  return element('saml:Attribute', { attributes: { Name: attribute.name, NameFormat: ATTRNAME_FORMAT[attribute.nameFormat], FriendlyName: attribute.friendlyName } }, ...values);
}

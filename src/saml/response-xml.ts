import type { ReleasedAttribute } from '../rp/claims.ts';
import { ATTRNAME_FORMAT, NS, STATUS, SUBJECT_CONFIRMATION_BEARER } from './constants.ts';

/**
 * The XML Stepgate sends, written out rather than templated through samlify: every value passes
 * through `esc`, and the element order is the schema's.
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

export interface AssertionContent {
  id: string;
  audience: string;
  nameId: { value: string; format: string; nameQualifier?: string; spNameQualifier?: string };
  /** End of the bearer confirmation and of the Conditions window. */
  notOnOrAfter: Date;
  authnInstant: Date;
  sessionIndex: string;
  authnContextClassRef: string;
  attributes: ReleasedAttribute[];
}

export function successResponseXml(header: MessageHeader, assertion: AssertionContent): string {
  return `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}"${headerAttributes(header)}>`
    + `<saml:Issuer>${esc(header.issuer)}</saml:Issuer>${statusXml({ top: STATUS.success })}${assertionXml(header, assertion)}</samlp:Response>`;
}

/** A Response carrying only an error status (no assertion), e.g. Requester/InvalidNameIDPolicy. */
export function statusResponseXml(header: MessageHeader, status: SamlStatus): string {
  return `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}"${headerAttributes(header)}>`
    + `<saml:Issuer>${esc(header.issuer)}</saml:Issuer>${statusXml(status)}</samlp:Response>`;
}

export function logoutResponseXml(header: MessageHeader, status: SamlStatus): string {
  return `<samlp:LogoutResponse xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}"${headerAttributes(header)}>`
    + `<saml:Issuer>${esc(header.issuer)}</saml:Issuer>${statusXml(status)}</samlp:LogoutResponse>`;
}

function headerAttributes(header: MessageHeader): string {
  const inResponseTo = header.inResponseTo ? ` InResponseTo="${esc(header.inResponseTo)}"` : '';
  return ` ID="${esc(header.id)}" Version="2.0" IssueInstant="${header.issueInstant.toISOString()}" Destination="${esc(header.destination)}"${inResponseTo}`;
}

function statusXml(status: SamlStatus): string {
  const code = status.second
    ? `<samlp:StatusCode Value="${esc(status.top)}"><samlp:StatusCode Value="${esc(status.second)}"/></samlp:StatusCode>`
    : `<samlp:StatusCode Value="${esc(status.top)}"/>`;
  const message = status.message ? `<samlp:StatusMessage>${esc(status.message)}</samlp:StatusMessage>` : '';
  return `<samlp:Status>${code}${message}</samlp:Status>`;
}

function assertionXml(header: MessageHeader, a: AssertionContent): string {
  const instant = header.issueInstant.toISOString();
  const notOnOrAfter = a.notOnOrAfter.toISOString();
  const inResponseTo = header.inResponseTo ? ` InResponseTo="${esc(header.inResponseTo)}"` : '';
  const qualifiers = (a.nameId.nameQualifier ? ` NameQualifier="${esc(a.nameId.nameQualifier)}"` : '') + (a.nameId.spNameQualifier ? ` SPNameQualifier="${esc(a.nameId.spNameQualifier)}"` : '');
  return `<saml:Assertion ID="${esc(a.id)}" Version="2.0" IssueInstant="${instant}">`
    + `<saml:Issuer>${esc(header.issuer)}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="${esc(a.nameId.format)}"${qualifiers}>${esc(a.nameId.value)}</saml:NameID>`
    + `<saml:SubjectConfirmation Method="${SUBJECT_CONFIRMATION_BEARER}"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${esc(header.destination)}"${inResponseTo}/></saml:SubjectConfirmation></saml:Subject>`
    + `<saml:Conditions NotBefore="${instant}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${esc(a.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
    + `<saml:AuthnStatement AuthnInstant="${a.authnInstant.toISOString()}" SessionIndex="${esc(a.sessionIndex)}"><saml:AuthnContext><saml:AuthnContextClassRef>${esc(a.authnContextClassRef)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
    + (a.attributes.length ? `<saml:AttributeStatement>${a.attributes.map(attributeXml).join('')}</saml:AttributeStatement>` : '')
    + '</saml:Assertion>';
}

function attributeXml(attribute: ReleasedAttribute): string {
  const friendly = attribute.friendlyName ? ` FriendlyName="${esc(attribute.friendlyName)}"` : '';
  // xs/xsi are declared on each value so an extracted assertion stays self-contained.
  const values = attribute.values
    .map((value) => `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${esc(value)}</saml:AttributeValue>`)
    .join('');
  return `<saml:Attribute Name="${esc(attribute.name)}" NameFormat="${ATTRNAME_FORMAT[attribute.nameFormat]}"${friendly}>${values}</saml:Attribute>`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** XML-escapes text and attribute values; strips characters XML 1.0 cannot carry at all. */
export function esc(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '').replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

import type { RequestedAuthnContext } from '../core/types.ts';
import { NS } from './constants.ts';
import { resolveAcs } from './acs.ts';
import type { InboundRequest } from './inbound.ts';
import type { AcsEndpoint } from './sp-types.ts';
import { attribute, booleanAttribute, elementChildren, optionalChild, textOf, uriAttribute } from './xml-dom.ts';

export interface AuthnRequestInfo {
  acs: AcsEndpoint;
  forceAuthn: boolean;
  passive: boolean;
  nameIdPolicy: { format?: string; spNameQualifier?: string };
  requestedAuthnContext?: RequestedAuthnContext;
  /** AuthnContextDeclRef was requested: Stepgate only speaks class refs. */
  requestsDeclRef: boolean;
  /** The request names its subject (saml-core §3.4.1): the assertion's must strongly match it. `nameId` absent: named some other way (BaseID, EncryptedID). */
  subject?: RequestedSubject;
}

export interface RequestedSubject {
  nameId?: string;
  format?: string;
}

/** Reads what the sign-in needs from a verified AuthnRequest; only the root element is read. */
export function readAuthnRequest(request: InboundRequest): AuthnRequestInfo {
  const { root, sp } = request;
  const index = attribute(root, 'AssertionConsumerServiceIndex');
  const acs = resolveAcs(sp, {
    // xs:anyURI, as the schema reads it: " https://sp/acs" is the registered URL, not an unknown one.
    url: uriAttribute(root, 'AssertionConsumerServiceURL'),
    index: index === undefined ? undefined : Number(index),
    protocolBinding: uriAttribute(root, 'ProtocolBinding'),
  });
  const policy = optionalChild(root, NS.protocol, 'NameIDPolicy');
  const context = optionalChild(root, NS.protocol, 'RequestedAuthnContext');
  let requestedAuthnContext: RequestedAuthnContext | undefined;
  if (context) {
    // The schema already restricted Comparison to the four values.
    const comparison = (attribute(context, 'Comparison') ?? 'exact') as RequestedAuthnContext['comparison'];
    const values = elementChildren(context, NS.assertion, 'AuthnContextClassRef').map((element) => textOf(element) ?? '');
    if (values.length) requestedAuthnContext = { values, comparison };
  }
  return {
    acs,
    forceAuthn: booleanAttribute(root, 'ForceAuthn'),
    passive: booleanAttribute(root, 'IsPassive'),
    nameIdPolicy: policy ? { format: attribute(policy, 'Format'), spNameQualifier: attribute(policy, 'SPNameQualifier') } : {},
    requestedAuthnContext,
    requestsDeclRef: context ? elementChildren(context, NS.assertion, 'AuthnContextDeclRef').length > 0 : false,
    ...requestedSubject(root),
  };
}

function requestedSubject(root: Element): { subject?: RequestedSubject } {
  const subject = optionalChild(root, NS.assertion, 'Subject');
  if (!subject) return {};
  const nameId = optionalChild(subject, NS.assertion, 'NameID');
  if (!nameId) return { subject: {} };
  const format = uriAttribute(nameId, 'Format');
  return { subject: { nameId: textOf(nameId) ?? '', ...(format ? { format } : {}) } };
}

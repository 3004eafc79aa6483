import type { RequestedAuthnContext } from '../core/types.ts';
import { BINDING, NS } from './constants.ts';
import { defaultPostAcs, resolveAcs, type AcsRequest } from './acs.ts';
import type { InboundRequest } from './inbound.ts';
import type { AcsEndpoint, ServiceProviderRecord } from './sp-types.ts';
import { attribute, booleanAttribute, elementChildren, optionalChild, textOf, uriAttribute } from './xml-dom.ts';

export interface AuthnRequestInfo {
  acs: AcsEndpoint;
  /**
   * The response binding asked for (ProtocolBinding, or the binding of the registered ACS the index or
   * URL names), when Stepgate cannot answer by it: `acs` is then the SP's default POST ACS, where
   * UnsupportedBinding goes.
   */
  unsupportedBinding?: string;
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
  const acsRequest = {
    // xs:anyURI, as the schema reads it: " https://sp/acs" is the registered URL, not an unknown one.
    url: uriAttribute(root, 'AssertionConsumerServiceURL'),
    index: index === undefined ? undefined : Number(index),
    protocolBinding: uriAttribute(root, 'ProtocolBinding'),
  };
  // saml-core §3.4.1: a verified request for a binding Stepgate does not send is answered, not met with a page.
  const requestedBinding = responseBindingAskedFor(sp, acsRequest);
  const unsupportedBindingAcs = requestedBinding !== undefined && requestedBinding !== BINDING.post ? defaultPostAcs(sp) : undefined;
  const acs = unsupportedBindingAcs ?? resolveAcs(sp, acsRequest);
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
    ...(unsupportedBindingAcs ? { unsupportedBinding: requestedBinding } : {}),
    forceAuthn: booleanAttribute(root, 'ForceAuthn'),
    passive: booleanAttribute(root, 'IsPassive'),
    nameIdPolicy: policy ? { format: uriAttribute(policy, 'Format'), spNameQualifier: attribute(policy, 'SPNameQualifier') } : {},
    requestedAuthnContext,
    requestsDeclRef: context ? elementChildren(context, NS.assertion, 'AuthnContextDeclRef').length > 0 : false,
    ...requestedSubject(root),
  };
}

/**
 * The binding the response would have to use: ProtocolBinding when given, else that of the registered
 * ACS the index names, or the URL names when no HTTP-POST ACS has it (an SP's Artifact or POST-SimpleSign
 * endpoint). Undefined when the request names nothing registered, or both an index and a URL (which
 * resolveAcs refuses as invalid).
 */
function responseBindingAskedFor(sp: ServiceProviderRecord, request: AcsRequest): string | undefined {
  if (request.protocolBinding !== undefined) return request.protocolBinding;
  if (request.index !== undefined && request.url !== undefined) return undefined;
  if (request.index !== undefined) return sp.acs.find((endpoint) => endpoint.index === request.index)?.binding;
  if (request.url === undefined) return undefined;
  const named = sp.acs.filter((endpoint) => endpoint.location === request.url);
  return named.some((endpoint) => endpoint.binding === BINDING.post) ? BINDING.post : named[0]?.binding;
}

function requestedSubject(root: Element): { subject?: RequestedSubject } {
  const subject = optionalChild(root, NS.assertion, 'Subject');
  if (!subject) return {};
  const nameId = optionalChild(subject, NS.assertion, 'NameID');
  if (!nameId) return { subject: {} };
  const format = uriAttribute(nameId, 'Format');
  return { subject: { nameId: textOf(nameId) ?? '', ...(format ? { format } : {}) } };
}

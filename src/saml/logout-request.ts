import { AppError } from '../core/errors.ts';
import { NS, type BindingName } from './constants.ts';
import type { InboundRequest } from './inbound.ts';
import { attribute, elementChildren, optionalChild, textOf, uriAttribute } from './xml-dom.ts';
import { instantAttribute } from './saml-time.ts';

/** A verified LogoutRequest, reduced to what ending the session needs (serialisable: POST stashes it). */
export interface LogoutInfo {
  spId: string;
  requestId: string;
  binding: BindingName;
  nameId: string;
  /** The NameID's Format, as the schema reads it; absent when the request names none. */
  nameIdFormat?: string;
  sessionIndexes: string[];
  relayState?: string;
}

/** Reads a verified LogoutRequest's root. Only a plain NameID is supported (no BaseID/EncryptedID). */
export function readLogoutRequest(request: InboundRequest, now: number, clockSkewSeconds: number): LogoutInfo {
  const { root } = request;
  const nameIdElement = optionalChild(root, NS.assertion, 'NameID');
  const nameId = textOf(nameIdElement);
  const nameIdFormat = nameIdElement && uriAttribute(nameIdElement, 'Format');
  if (!nameId) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'logout-without-nameid' } });
  const notOnOrAfter = instantAttribute(root, 'NotOnOrAfter');
  if (notOnOrAfter !== undefined && notOnOrAfter + clockSkewSeconds * 1000 <= now) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'logout-request-expired', notOnOrAfter: attribute(root, 'NotOnOrAfter') } });
  }
  return {
    spId: request.sp.id,
    requestId: request.id,
    binding: request.binding,
    nameId,
    ...(nameIdFormat ? { nameIdFormat } : {}),
    sessionIndexes: elementChildren(root, NS.protocol, 'SessionIndex').map((element) => textOf(element) ?? ''),
    relayState: request.relayState,
  };
}

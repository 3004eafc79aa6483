import { AppError } from '../core/errors.ts';
import { NS, type BindingName } from './constants.ts';
import type { InboundRequest } from './inbound.ts';
import { attribute, elementChildren, optionalChild, textOf } from './xml-dom.ts';
import { instantAttribute } from './saml-time.ts';

/** A verified LogoutRequest, reduced to what ending the session needs (serialisable: POST stashes it). */
export interface LogoutInfo {
  spId: string;
  requestId: string;
  binding: BindingName;
  nameId: string;
  sessionIndexes: string[];
  relayState?: string;
}

/** Reads a verified LogoutRequest's root. Only a plain NameID is supported (no BaseID/EncryptedID). */
export function readLogoutRequest(request: InboundRequest, now: number, clockSkewSeconds: number): LogoutInfo {
  const { root } = request;
  const nameId = textOf(optionalChild(root, NS.assertion, 'NameID'));
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
    sessionIndexes: elementChildren(root, NS.protocol, 'SessionIndex').map((element) => textOf(element) ?? ''),
    relayState: request.relayState,
  };
}

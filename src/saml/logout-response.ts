import { AppError } from '../core/errors.ts';
import { NS } from './constants.ts';
import type { InboundRequest } from './inbound.ts';
import { attribute, optionalChild, uriAttribute } from './xml-dom.ts';

/** A verified LogoutResponse from an SP we sent a LogoutRequest to, reduced to what the logout run needs. */
export interface LogoutAnswer {
  spId: string;
  responseId: string;
  inResponseTo?: string;
  /** Top-level StatusCode, and the second-level one when given. */
  status: { top: string; second?: string };
  /**
   * 'absent' or 'invalid': it proves nothing (saml-profiles §4.4.4.2: the responder MUST authenticate
   * itself), so the sign-out counts as unconfirmed. 'invalid' answers are not read at all.
   */
  signature: 'valid' | 'absent' | 'invalid';
}

/**
 * Reads a verified LogoutResponse's root (the schema already requires Status/StatusCode/@Value). Value
 * is an xs:anyURI, read as the schema reads it: " …:Success " is a Success, not an unconfirmed sign-out.
 */
export function readLogoutResponse(message: InboundRequest): LogoutAnswer {
  const status = optionalChild(message.root, NS.protocol, 'Status');
  const top = status && optionalChild(status, NS.protocol, 'StatusCode');
  if (!top) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'logout-response-without-status' } });
  const second = optionalChild(top, NS.protocol, 'StatusCode');
  return {
    spId: message.sp.id,
    responseId: message.id,
    inResponseTo: attribute(message.root, 'InResponseTo'),
    status: { top: uriAttribute(top, 'Value') ?? '', ...(second ? { second: uriAttribute(second, 'Value') ?? '' } : {}) },
    signature: message.signed ? 'valid' : 'absent',
  };
}

import type { LoginResult } from '../core/types.ts';
import { STATUS } from './constants.ts';
import type { SamlStatus } from './response-xml.ts';

type LoginError = Extract<LoginResult, { ok: false }>['error'];

/** How a sign-in that ended without a user is told to the SP (saml-core §3.2.2.2). */
const BY_LOGIN_ERROR: Record<LoginError, SamlStatus> = {
  login_required: { top: STATUS.responder, second: STATUS.noPassive },
  interaction_required: { top: STATUS.responder, second: STATUS.noPassive },
  unmet_authn_context: { top: STATUS.responder, second: STATUS.noAuthnContext },
  access_denied: { top: STATUS.responder, second: STATUS.requestDenied },
  // saml-core 3.4.1.4: an IdP unable to authenticate the presenter answers with an error status.
  cancelled: { top: STATUS.responder, second: STATUS.authnFailed, message: 'The user cancelled the sign-in.' },
};

export function statusForLoginError(error: LoginError): SamlStatus {
  return BY_LOGIN_ERROR[error];
}

export const INVALID_NAMEID_POLICY: SamlStatus = { top: STATUS.requester, second: STATUS.invalidNameIdPolicy, message: 'The requested NameID format is not supported for this application.' };
export const NO_AUTHN_CONTEXT: SamlStatus = { top: STATUS.responder, second: STATUS.noAuthnContext, message: 'The requested authentication context cannot be satisfied.' };
export const OTHER_PRINCIPAL: SamlStatus = { top: STATUS.responder, second: STATUS.unknownPrincipal, message: 'The signed-in user is not the subject the request names.' };
export const NO_NAMEID_VALUE: SamlStatus = { top: STATUS.responder, second: STATUS.invalidNameIdPolicy, message: 'The user has no value for the requested NameID format.' };
export const UNSUPPORTED_BINDING: SamlStatus = { top: STATUS.requester, second: STATUS.unsupportedBinding, message: 'Responses are sent with the HTTP-POST binding only.' };

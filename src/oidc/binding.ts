import { errors, type InteractionResults } from 'oidc-provider';
import type { LoginRequest, LoginResult, RequestedAuthnContext } from '../core/types.ts';
import { relyingPartySettings, type OidcClientRecord } from './client-registry.ts';
import { ACR_LEVELS } from '../policy/levels.ts';
import { isSatisfiable } from '../policy/requested-context.ts';
import { errorDescription } from './error-description.ts';

/** The parts of an authorization request (as oidc-provider parsed it) that shape a sign-in. */
export interface AuthorizationFacts {
  params: Record<string, unknown>;
  /** Why oidc-provider's login prompt asked for an interaction (empty when only previewing). */
  reasons: readonly string[];
  /** oidc-provider's interaction, which the result goes back to (empty when only previewing). */
  interactionUid: string;
}

/** The name the OIDC finisher is registered under with the interaction. */
export const OIDC_FINISHER = 'oidc';

/** The key of the interaction result that names the Stepgate SSO session behind a login. */
export const SSO_RESULT_KEY = 'ssoSession';

/** Login prompt reasons that mean "the current sign-in is the wrong one": a fresh authentication is needed. */
const REAUTHENTICATE_REASONS = new Set(['login_prompt', 'id_token_hint', 'claims_id_token_sub_value']);

/** What a prompt=none request can be answered with; temporarily_unavailable (RFC 6749): the directory cannot be reached. */
export type OidcSignInError = 'login_required' | 'access_denied' | 'interaction_required' | 'unmet_authentication_requirements' | 'temporarily_unavailable';

const ERRORS: Record<Extract<LoginResult, { ok: false }>['error'], OidcSignInError> = {
  login_required: 'login_required',
  access_denied: 'access_denied',
  interaction_required: 'interaction_required',
  unmet_authn_context: 'unmet_authentication_requirements',
  // OIDC has no error of its own for a user who gave up; access_denied is what clients handle.
  cancelled: 'access_denied',
};

export function oidcError(error: Extract<LoginResult, { ok: false }>['error']): OidcSignInError {
  return ERRORS[error];
}

/** Translates an OIDC authorization request into the protocol-neutral LoginRequest. */
export function toLoginRequest(facts: AuthorizationFacts, client: OidcClientRecord): LoginRequest {
  const { params } = facts;
  const prompts = new Set(stringParam(params.prompt)?.split(' ') ?? []);
  const maxAge = params.max_age === undefined ? undefined : Number(params.max_age);
  return {
    protocol: 'oidc',
    rpId: client.id,
    rpName: client.name,
    rp: relyingPartySettings(client),
    handoff: { finisher: OIDC_FINISHER, ref: facts.interactionUid },
    forceAuthn: prompts.has('login') || prompts.has('select_account') || facts.reasons.some((reason) => REAUTHENTICATE_REASONS.has(reason)),
    passive: prompts.has('none'),
    maxAgeSec: maxAge !== undefined && Number.isSafeInteger(maxAge) && maxAge >= 0 ? maxAge : undefined,
    requestedAuthnContext: requestedAuthnContext(params),
    loginHint: stringParam(params.login_hint),
  };
}

/**
 * `claims.id_token.acr` with essential is a hard requirement; `acr_values` is a preference (OIDC Core 5.5.1.1).
 * Stepgate asks its flow for exactly the acrs oidc-provider's checks then accept (see essentialAcrs): were
 * it to accept one they refuse, they would start another interaction and the browser would go round forever.
 */
export function requestedAuthnContext(params: Record<string, unknown>): RequestedAuthnContext | undefined {
  const essential = essentialAcrs(parsedClaims(stringParam(params.claims)));
  if (essential) return { values: essential, comparison: 'exact', essential: true };
  const acrValues = stringParam(params.acr_values)?.split(' ').filter(Boolean);
  return acrValues?.length ? { values: acrValues, comparison: 'exact', essential: false } : undefined;
}

/**
 * The acrs an essential `claims.id_token.acr` request accepts, read as oidc-provider's login checks
 * `essential_acr` and `essential_acrs` read it: any truthy `essential`; a truthy `value` must equal the
 * acr, a truthy `values` must be an array holding it, and both apply when both are given. Undefined: no
 * essential acr request. Empty: no acr can satisfy it (a `value` that is not a string, `values` without
 * a string, a `value` missing from `values`).
 *
 * Stepgate is stricter in one case: with `acr_values` too, oidc-provider lets that replace the claims
 * request, Stepgate still holds to the essential one (the spec makes essential binding).
 */
export function essentialAcrs(claims: unknown): string[] | undefined {
  const acr = (claims as { id_token?: { acr?: unknown } } | undefined)?.id_token?.acr;
  if (!acr || typeof acr !== 'object') return undefined;
  const { essential, value, values } = acr as Record<string, unknown>;
  if (!essential || (!value && !values)) return undefined;
  const listed = values ? (Array.isArray(values) ? values.filter((item): item is string => typeof item === 'string') : []) : undefined;
  if (!value) return listed;
  if (typeof value !== 'string') return [];
  return !listed || listed.includes(value) ? [value] : [];
}

/**
 * oidc-provider's claims parameter hook: an essential acr request no sign-in can satisfy is the
 * client's error, answered at its redirect URI before anyone is asked to sign in. That includes a
 * well-formed request for acrs Stepgate never issues (as SAML answers NoAuthnContext before any
 * page): otherwise the user typed a password only to be sent back with the same error.
 */
export function assertSatisfiableAcr(_ctx: unknown, claims: unknown): void {
  const acrs = essentialAcrs(claims);
  if (acrs?.length === 0) {
    throw new errors.InvalidRequest('claims.id_token.acr: an essential acr needs a string value and/or an array of string values that contains it');
  }
  if (acrs && !isSatisfiable({ values: acrs, comparison: 'exact', essential: true })) {
    throw new errors.UnmetAuthenticationRequirements(`claims.id_token.acr: this sign-in service issues only ${ACR_LEVELS.join(' and ')}`);
  }
}

/** Translates the sign-in outcome into an oidc-provider interaction result. */
export function toInteractionResult(request: LoginRequest, result: LoginResult): InteractionResults {
  if (!result.ok) return { error: ERRORS[result.error], error_description: errorDescription(ERRORS[result.error], result.message) };
  const wanted = request.requestedAuthnContext;
  // oidc-provider's own essential-acr check (exact match) would start another interaction, endlessly;
  // the spec's answer to an essential acr that was not obtained is this error.
  if (wanted?.essential && !wanted.values.includes(result.acr)) {
    return { error: 'unmet_authentication_requirements', error_description: 'The requested authentication context could not be obtained.' };
  }
  return {
    // Not remembered: oidc-provider's session cookie then has no Expires and ends with the browser, as Stepgate's own does.
    login: { accountId: result.user.id, acr: result.acr, amr: result.amr, ts: Math.floor(result.authTime / 1000), remember: false },
    [SSO_RESULT_KEY]: result.sessionId,
  };
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function parsedClaims(claims: string | undefined): unknown {
  if (!claims) return undefined;
  try {
    return JSON.parse(claims);
  } catch {
    return undefined; // oidc-provider rejects malformed claims before an interaction starts
  }
}

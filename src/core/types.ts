/** The normalised user profile both protocols read. `id` is stable and never the username. */
export interface User {
  id: string;
  username: string;
  name?: string;
  email?: string;
  groups: string[];
  /** The DNs of those groups, when the directory has DNs (LDAP): a policy naming a group by DN matches only them. */
  groupDns?: string[];
  /** Raw directory attributes, multi-valued, attribute names lower-cased. */
  attributes: Record<string, string[]>;
}

export type Protocol = 'saml' | 'oidc';

/** Authentication method references, RFC 8176 values. */
export type Amr = 'pwd' | 'otp' | 'hwk' | 'swk' | 'user' | 'mfa' | 'kba';

export interface Factor {
  method: Amr;
  /** Epoch milliseconds. */
  at: number;
}

export interface RequestedAuthnContext {
  /** SAML class refs or OIDC acr values, as sent. */
  values: string[];
  comparison: 'exact' | 'minimum' | 'better' | 'maximum';
  /** OIDC `claims.id_token.acr.essential`. */
  essential?: boolean;
}

/** Per-application settings every relying party has, whatever its protocol. */
export interface RelyingPartySettings {
  /** Named access-control policy; the default policy applies when absent. */
  policy?: string;
  /** May a user whose password expired or must be changed change it here and continue? */
  allowPasswordChange: boolean;
}

/**
 * The finisher (registered with the interaction under this name) that turns a sign-in's result into
 * the protocol's answer, and the reference it needs to find its pending request (an OIDC interaction
 * uid, a SAML pending-request id).
 */
export interface Handoff {
  finisher: string;
  ref: string;
}

/** What a protocol adapter asks of the interaction; protocol-neutral. */
export interface LoginRequest {
  protocol: Protocol;
  /** SAML entityID or OIDC client_id. */
  rpId: string;
  rpName: string;
  rp: RelyingPartySettings;
  /** Who answers the relying party once the interaction has a result. */
  handoff: Handoff;
  forceAuthn: boolean;
  passive: boolean;
  /** Authentication older than this (seconds) is not accepted (OIDC max_age). */
  maxAgeSec?: number;
  requestedAuthnContext?: RequestedAuthnContext;
  loginHint?: string;
}

/** What the interaction hands back to the protocol adapter. */
export type LoginResult =
  | { ok: true; user: User; sessionId: string; authTime: number; factors: Factor[]; amr: Amr[]; acr: string }
  | { ok: false; error: 'login_required' | 'access_denied' | 'interaction_required' | 'unmet_authn_context' | 'cancelled'; message: string };

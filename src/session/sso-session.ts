import type { Amr, Factor, Protocol, User } from '../core/types.ts';

/** A relying party this browser session signed in to; SAML needs it for Single Logout. */
export interface SessionParticipant {
  protocol: Protocol;
  rpId: string;
  at: number;
  nameId?: string;
  nameIdFormat?: string;
  sessionIndex?: string;
}

/** The one SSO session both protocols share. Stored server-side; the cookie holds only its random id. */
export interface SsoSession {
  id: string;
  user: User;
  createdAt: number;
  lastSeenAt: number;
  /**
   * Until when an OIDC client holds an access token it got from this session (epoch ms): the session
   * is in use until then, and its idle time counts from then. Absent until a client gets tokens.
   */
  tokensUsableUntil?: number;
  /** Time of the last primary (password) authentication, epoch ms. */
  authTime: number;
  factors: Factor[];
  /**
   * The methods among `factors` that a re-authentication kept from the session it replaced and that
   * were not proved again since: they count for the other applications, not for the request that
   * asked for the new sign-in (ForceAuthn, prompt=login). Absent when there are none.
   */
  keptFactors?: Amr[];
  participants: SessionParticipant[];
  /** The client IP of the sign-in: the network a refresh grant (from the client's back end, not the browser) is judged by. Absent in sessions of older versions. */
  signInIp?: string;
  /**
   * The name typed at the password step (an email, `DOMAIN\name`, …), which the directory finds the
   * user by: the password asked again before a setup is checked under it, since the username
   * (users.usernameAttribute) need not be a name users.filter finds. Absent in sessions of older versions.
   */
  login?: string;
}

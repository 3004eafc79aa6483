/** What the bench's main thread and its load-driver workers exchange. */

export const SCENARIOS = ['oidc', 'saml', 'refresh', 'sso'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/**
 * The same OIDC flows against the two reference servers: oidc-provider alone (scripts/bench/floor-provider.ts,
 * the library floor) and the minimal server (scripts/bench/minimal-idp.ts, the machine floor).
 */
export const FLOOR_SCENARIOS = ['floor-oidc', 'floor-refresh', 'minimal-oidc', 'minimal-refresh'] as const;
export type FloorScenarioName = (typeof FLOOR_SCENARIOS)[number];
export type PhaseScenario = ScenarioName | FloorScenarioName;

export const SCENARIO_TITLES: Record<PhaseScenario, string> = {
  oidc: '(a) OIDC code+PKCE, password+TOTP, token exchange',
  saml: '(b) SAML Redirect, password+TOTP, signed Response',
  refresh: '(c) OIDC refresh-token grant',
  sso: '(d) SSO reuse, second app, no prompt',
  'floor-oidc': 'oidc-provider alone: code+PKCE, token exchange (no directory, MFA, pages or disk)',
  'floor-refresh': 'oidc-provider alone: refresh-token grant',
  'minimal-oidc': 'minimal server: code+PKCE, password+TOTP, token exchange (LDAP search+bind, TOTP, one signature, nothing else)',
  'minimal-refresh': 'minimal server: refresh-token grant',
};

export interface OidcSetup {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** The JWKS, fetched once by the main thread. */
  jwks: { keys: Array<Record<string, unknown>> };
  clientId: string;
  clientSecret: string;
  /** The only algorithm the client accepts for its ID Tokens (as registered). */
  idTokenAlg: string;
  redirectUri: string;
  scope: string;
  /** Extra authorization parameters the IdP needs for refresh tokens (e.g. prompt=consent). */
  extraParams: Record<string, string>;
}

export interface SamlSetup {
  idpEntityId: string;
  /** HTTP-Redirect SingleSignOnService location from the IdP metadata. */
  ssoRedirectUrl: string;
  /** Signing certificates from the IdP metadata (PEM), fetched once. */
  idpCertificates: string[];
  spEntityId: string;
  acsUrl: string;
  /** The SP signs its AuthnRequests (Redirect binding query signature) when set. */
  spPrivateKeyPem?: string;
}

export interface DriverSetup {
  idpUrl: string;
  users: number;
  totpSeed: string;
  /** Int32Array[users]: the last TOTP time step used per user, shared by all workers (codes are single-use). */
  stepBuffer: SharedArrayBuffer;
  /** Int32Array[1]: round-robin cursor over users. */
  cursorBuffer: SharedArrayBuffer;
  /** The users' SAML NameIDs seen so far (driver/subjects.ts), shared by all workers. */
  subjectBuffer: SharedArrayBuffer;
  /** The AuthnContextClassRef / acr a sign-in with password + TOTP must carry. */
  mfaAcr: string;
  oidc?: OidcSetup;
  saml?: SamlSetup;
}

export interface PhaseJob {
  scenario: PhaseScenario;
  /** Concurrent sign-in loops in this worker. */
  loops: number;
  /** refresh: the refresh tokens this worker owns (rotated in place). */
  refreshTokens?: RefreshToken[];
  /** sso: the pre-existing sessions this worker owns. */
  sessions?: SeededSession[];
  /** Keep at most this many sign-in records (refresh tokens, durability sample). */
  recordLimit: number;
}

export interface RefreshToken {
  value: string;
  user: number;
}

export interface SeededSession {
  id: string;
  user: number;
}

/** One completed sign-in, for later scenarios (refresh tokens) and the durability check. */
export interface SignInRecord {
  user: number;
  sessionId?: string;
  totpStep?: number;
  refreshToken?: string;
  /** Epoch ms when the driver had the final answer. */
  at: number;
}

/** What a scenario returns to its worker: the record, checks deferred past the window, and what the self-check inspects. */
export interface SignInOutcome {
  record: SignInRecord;
  verify?: () => void;
  evidence?: { idToken?: string; samlResponse?: string; requestId?: string; receivedAt?: number };
}

export interface PhaseResult {
  completed: number;
  /** Latencies (ms) of sign-ins completed inside the measured window. */
  latencies: number[];
  errors: number;
  warmupErrors: number;
  /** Completed during warm-up or after the window (not counted in the rate). */
  outside: number;
  errorSamples: string[];
  records: SignInRecord[];
  /** refresh: the tokens as they are after rotation. */
  refreshTokens?: RefreshToken[];
}

/** Sent to every worker once all are ready, epoch ms: start of load (warm-up), start and end of the measured window. */
export interface PhaseClock {
  startAt: number;
  measureStart: number;
  measureEnd: number;
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; result: PhaseResult } | { type: 'failed'; error: string };

/**
 * Every failure that can reach a user or a client is an AppError with a stable code.
 * `userMessage` is what users see (the catalogue text unless given); `detail` goes to the log only.
 */
export const ERROR_CATALOGUE = {
  LOGIN_FAILED: { status: 401, message: 'Invalid username or password.' },
  ACCOUNT_DISABLED: { status: 403, message: 'Your account is disabled. Contact your helpdesk.' },
  ACCOUNT_LOCKED: { status: 403, message: 'Your account is locked. Contact your helpdesk or try again later.' },
  ACCOUNT_EXPIRED: { status: 403, message: 'Your account has expired. Contact your helpdesk.' },
  PASSWORD_EXPIRED: { status: 403, message: 'Your password has expired.' },
  PASSWORD_EXPIRED_NO_GRACE: { status: 403, message: 'Your password has expired and the directory does not let you change it yourself. Ask your helpdesk to reset it.' },
  PASSWORD_MUST_CHANGE: { status: 403, message: 'You must change your password before signing in.' },
  RATE_LIMITED: { status: 429, message: 'Too many attempts. Please wait and try again.' },
  CSRF_FAILED: { status: 403, message: 'Your form expired or was sent from another site. Go back, reload the page and try again.' },
  COOKIES_BLOCKED: { status: 403, message: 'Your browser did not send this site\'s cookies (they may be blocked, or were cleared). Allow cookies for this site, then start again from the application you were signing in to.' },
  TRANSACTION_UNKNOWN: { status: 400, message: 'This sign-in has expired or is not valid any more. Go back to the application and start again.' },
  RP_UNKNOWN: { status: 400, message: 'The application that sent you here is not registered with this sign-in service. Go back to it, and tell its administrator or your helpdesk.' },
  BAD_REQUEST: { status: 400, message: 'Your browser sent a request this service cannot read. Go back, reload the page and try again; if it keeps happening, contact your helpdesk.' },
  REQUEST_TOO_LARGE: { status: 413, message: 'The request is too large for this service. Go back and try again; if it keeps happening, contact your helpdesk.' },
  SAML_REQUEST_INVALID: { status: 400, message: 'The application sent a sign-in request that is not valid, so it was refused. Go back to the application and try again; if it keeps happening, tell your helpdesk.' },
  SAML_SIGNATURE_INVALID: { status: 400, message: 'The application\'s sign-in request could not be verified as coming from it, so it was refused. Go back to the application and try again; if it keeps happening, tell your helpdesk.' },
  ACS_NOT_REGISTERED: { status: 400, message: 'The application asked for your sign-in to be sent to an address that is not registered for it, so nothing was sent. Go back to the application, and tell its administrator or your helpdesk.' },
  ACCESS_DENIED: { status: 403, message: 'You are not allowed to use this application.' },
  METADATA_INVALID: { status: 400, message: 'The metadata is not valid.' },
  NOT_FOUND: { status: 404, message: 'There is no page at this address. Check it for typing mistakes; if a link brought you here, go back to the application you were using and start again from there.' },
  DIRECTORY_UNAVAILABLE: { status: 503, message: 'The sign-in service cannot reach the user directory right now. Try again in a few minutes.' },
  SIGN_IN_BUSY: { status: 503, message: 'The sign-in service is busy; try again in a moment.' },
  DIRECTORY_MISCONFIGURED: { status: 500, message: 'Sign-in is not set up correctly on this service, so it cannot sign you in. Contact your helpdesk.' },
  INTERNAL: { status: 500, message: 'Something went wrong on our side. Try again, and contact your helpdesk if it keeps happening.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** What users see; a thrower's own text must never contain internals. */
  readonly userMessage: string;
  /** The page's title when the code's own would mislead (a sign-out's refusal titled as a sign-in's). */
  readonly userTitle?: string;
  /** Extra structured facts for the log, never shown to users. */
  readonly detail?: Record<string, unknown>;

  constructor(code: ErrorCode, options: { userMessage?: string; userTitle?: string; detail?: Record<string, unknown>; cause?: unknown } = {}) {
    super(options.userMessage ?? ERROR_CATALOGUE[code].message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.userMessage = options.userMessage ?? ERROR_CATALOGUE[code].message;
    if (options.userTitle !== undefined) this.userTitle = options.userTitle;
    this.detail = options.detail;
  }
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('INTERNAL', { cause: error });
}

const TITLES: Partial<Record<keyof typeof ERROR_CATALOGUE, string>> = {
  CSRF_FAILED: 'Please try again',
  TRANSACTION_UNKNOWN: 'Sign-in expired',
  RATE_LIMITED: 'Too many attempts',
  ACCESS_DENIED: 'Access denied',
  LOGIN_FAILED: 'Sign-in failed',
  ACCOUNT_DISABLED: 'Account disabled',
  ACCOUNT_LOCKED: 'Account locked',
  ACCOUNT_EXPIRED: 'Account expired',
  PASSWORD_EXPIRED: 'Password expired',
  PASSWORD_MUST_CHANGE: 'Password change needed',
  PASSWORD_EXPIRED_NO_GRACE: 'Password expired',
  DIRECTORY_MISCONFIGURED: 'Sign-in not available',
  RP_UNKNOWN: 'Unknown application',
  ACS_NOT_REGISTERED: 'Unknown return address',
  SAML_REQUEST_INVALID: 'Request not valid',
  SAML_SIGNATURE_INVALID: 'Request not valid',
  BAD_REQUEST: 'Request not valid',
  REQUEST_TOO_LARGE: 'Request too large',
  NOT_FOUND: 'Page not found',
  DIRECTORY_UNAVAILABLE: 'Service unavailable',
  COOKIES_BLOCKED: 'Cookies needed',
  SIGN_IN_BUSY: 'Service busy',
};

/** The title of the page that tells a user about `code`. */
export function errorTitle(code: keyof typeof ERROR_CATALOGUE): string {
  return TITLES[code] ?? 'Something went wrong';
}

/**
 * The client IP recorded for a request whose trusted proxy named no client, or named it in a form
 * that is no address (see request-context.ts): in the audit log, the logs and `audit --ip unknown`.
 */
export const UNKNOWN_CLIENT_IP = 'unknown';

/**
 * Text a caller chose, copied into a log line or an audit event (a client_id of a client that did not
 * authenticate, an unknown grant_type, a request's path): kept long enough for any real value, no
 * longer. Uncut, one request wrote a 50 KB warning, and the warning budget lets a script write a
 * hundred of them a minute per kind; log shippers split or drop lines over 16 KB.
 */
export const CALLER_TEXT_MAX_LENGTH = 128;

/** `value` cut to CALLER_TEXT_MAX_LENGTH; undefined when it is not text. */
export function clipCallerText(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, CALLER_TEXT_MAX_LENGTH) : undefined;
}

import { parseIpOrCidr, rangesOverlap, type Cidr } from '../core/ip-ranges.ts';
import { UNKNOWN_CLIENT_IP } from '../core/unknown-client-ip.ts';
import type { AuditQuery, StoredAuditEvent } from './store.ts';

/** A filter field that cannot be applied; `field` names it, so a caller can point at its own option. */
export class AuditQueryError extends Error {
  readonly field: keyof AuditQuery;

  constructor(field: keyof AuditQuery, message: string) {
    super(`${field}: ${message}`);
    this.name = 'AuditQueryError';
    this.field = field;
  }
}

/** Whether an event (recorded at `at`, in ms) matches. */
export type AuditPredicate = (event: StoredAuditEvent, at: number) => boolean;

function time(field: 'since' | 'until', date: Date | undefined): number | undefined {
  if (date === undefined) return undefined;
  if (Number.isNaN(date.getTime())) throw new AuditQueryError(field, 'is not a valid date');
  return date.getTime();
}

function typeMatcher(patterns: readonly string[]): (type: string) => boolean {
  const exact = new Set(patterns.filter((pattern) => !pattern.endsWith('*')));
  const prefixes = patterns.filter((pattern) => pattern.endsWith('*')).map((pattern) => pattern.slice(0, -1));
  return (type) => exact.has(type) || prefixes.some((prefix) => type.startsWith(prefix));
}

/** Checks the query once and compiles it, so scanning a large log does no parsing per event. */
export function compileAuditQuery(query: AuditQuery): AuditPredicate {
  const since = time('since', query.since);
  const until = time('until', query.until);
  // `unknown`: the client IP recorded when a trusted proxy named none (FORWARDED_FOR_MISSING / _INVALID).
  const unknownIp = query.ip === UNKNOWN_CLIENT_IP;
  const range = query.ip === undefined || unknownIp ? undefined : parseIpOrCidr(query.ip);
  if (query.ip !== undefined && !unknownIp && !range) throw new AuditQueryError('ip', `"${query.ip}" is neither an IP address, a CIDR nor "unknown"`);
  const typeMatches = query.types?.length ? typeMatcher(query.types) : undefined;
  const username = query.user?.toLowerCase();
  return (event, at) =>
    (since === undefined || at >= since) &&
    (until === undefined || at < until) &&
    (typeMatches === undefined || typeMatches(event.type)) &&
    (query.outcome === undefined || event.outcome === query.outcome) &&
    (query.rp === undefined || event.rp === query.rp) &&
    (query.user === undefined || event.userId === query.user || (typeof event.username === 'string' && event.username.toLowerCase() === username)) &&
    (unknownIp ? event.ip === UNKNOWN_CLIENT_IP : range === undefined || (typeof event.ip === 'string' && ipMatches(event.ip, range)));
}

/**
 * An event's `ip` is a client's address, or for an IPv6 client's `audit.suppressed` summary its /64
 * (2001:db8:0:1::/64): the summary matches a query for any address in that /64, or a range holding it.
 */
function ipMatches(eventIp: string, range: Cidr): boolean {
  const eventRange = parseIpOrCidr(eventIp);
  return eventRange !== undefined && rangesOverlap(eventRange, range);
}

/** How many matches to keep: the query's limit, or all of them. */
export function auditQueryLimit(query: AuditQuery): number {
  if (query.limit === undefined) return Infinity;
  if (!Number.isSafeInteger(query.limit) || query.limit < 1) throw new AuditQueryError('limit', `must be a positive integer, not ${query.limit}`);
  return query.limit;
}

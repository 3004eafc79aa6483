import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/log.ts';
import { ipInRange, parseCidr, parseIp } from '../core/ip-ranges.ts';
import { UNKNOWN_CLIENT_IP } from '../core/unknown-client-ip.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Correlates log lines, audit events and the reference shown on error pages. */
      requestId: string;
      log: Logger;
      /**
       * From the socket, or from X-Forwarded-For only when the socket is a configured trusted proxy;
       * `unknown` when that proxy's value is not an address.
       */
      clientIp: string;
    }
  }
}

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    req.requestId = randomUUID();
    req.log = logger.child({ reqId: req.requestId });
    req.clientIp = clientIpOf(req);
    res.setHeader('X-Request-Id', req.requestId);
    if (req.log.isLevelEnabled('debug')) {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        req.log.debug({ event: 'http.request', method: req.method, path: req.path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, ip: req.clientIp }, 'request');
      });
    }
    next();
  };
}

/**
 * The client address when a trusted proxy's X-Forwarded-For does not give one. It must not fall back
 * to the proxy's own address: proxies sit on internal addresses, often inside a trusted network, so
 * every client with a malformed header would count as inside. No policy range holds `unknown`
 * (ipInNetworks), and every such client shares one per-address rate-limit bucket, so an attacker gets
 * no fresh bucket per malformed value. The warning logged with the request id has the value and the proxy.
 */

/**
 * Express's `trust proxy` setting: whether one hop (the socket address, then X-Forwarded-For from the
 * right) is a configured proxy. A function rather than proxy-addr's list, so a hop written with a port
 * (Azure Application Gateway, IIS ARR) is recognised as the proxy it is; otherwise the proxy's own
 * address, port stripped, would become the client's.
 */
export function trustedProxyTest(ranges: readonly string[]): ((hop: string | undefined) => boolean) | false {
  if (ranges.length === 0) return false;
  const cidrs = ranges.map((range) => parseCidr(range) ?? invalidRange(range));
  return (hop) => {
    const address = hop === undefined ? undefined : hopAddress(hop);
    return address !== undefined && cidrs.some((cidr) => ipInRange(address, cidr));
  };
}

function invalidRange(range: string): never {
  throw new Error(`server.trustedProxies: "${range}" is not a CIDR`);
}

/**
 * req.ip is X-Forwarded-For's value when a trusted proxy sent the request, and nothing checks it is an
 * address: a proxy passing on whatever the client wrote would put markup, control characters or 12 KB
 * of digits into the logs, the audit log, policies' network checks and the session's sign-in address.
 */
function clientIpOf(req: Request): string {
  const socketIp = req.socket.remoteAddress;
  const claimed = req.ip ?? socketIp;
  if (claimed === undefined) return UNKNOWN_CLIENT_IP;
  const address = hopAddress(claimed);
  if (address === undefined) {
    req.log.warn({ code: 'FORWARDED_FOR_INVALID', forwardedFor: claimed.slice(0, 100), proxy: socketIp }, 'X-Forwarded-For from a trusted proxy is not an IP address; the client address is unknown');
    return UNKNOWN_CLIENT_IP;
  }
  if (!isTrustedProxy(req, address)) return address;
  // Express walked every hop and found only trusted proxies: no X-Forwarded-For (or an empty one), or
  // one that an outer proxy left without the client. The address it ended on is a proxy's own.
  warnOncePerMinute(socketIp ?? address, () => req.log.warn({ code: 'FORWARDED_FOR_MISSING', proxy: socketIp, forwardedFor: String(req.headers['x-forwarded-for'] ?? '').slice(0, 100) }, 'a request from a trusted proxy names no client: X-Forwarded-For is missing or holds only trusted proxies; the client address is unknown (make every proxy add it)'));
  return UNKNOWN_CLIENT_IP;
}

/**
 * Whether `address` is one of server.trustedProxies (Express's compiled `trust proxy` test). A proxy's
 * own address is never the client's, which (see UNKNOWN_CLIENT_IP) must not happen.
 */
function isTrustedProxy(req: Request, address: string): boolean {
  const trusts = req.app.get('trust proxy fn') as ((address: string, hop: number) => boolean) | undefined;
  return trusts?.(address, 0) === true;
}

/** Health checks from the proxy carry no client either: one warning a minute per proxy is enough to be seen. */
const lastMissingWarning = new Map<string, number>();
function warnOncePerMinute(proxy: string, warn: () => void): void {
  const now = Date.now();
  if (now - (lastMissingWarning.get(proxy) ?? 0) < 60_000) return;
  if (lastMissingWarning.size > 1000) lastMissingWarning.clear();
  lastMissingWarning.set(proxy, now);
  warn();
}

/**
 * One X-Forwarded-For entry as an address in one spelling, or undefined when it is none. Proxies
 * write `203.0.113.9`, `203.0.113.9:5555`, `[2001:db8::7]:443` or `[2001:db8::7]`, some in double
 * quotes as in RFC 7239's Forwarded header; the port says nothing about who the client is.
 */
function hopAddress(hop: string): string | undefined {
  const unquoted = /^"(.*)"$/s.exec(hop)?.[1] ?? hop;
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(unquoted)?.[1];
  if (bracketed !== undefined) return bracketed.includes(':') ? normaliseIp(bracketed) : undefined;
  return normaliseIp(/^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(unquoted)?.[1] ?? unquoted);
}

/**
 * One spelling per address, whatever the proxy or socket wrote (2001:DB8:0:0::1, ::FFFF:203.0.113.10,
 * ::ffff:cb00:710a): otherwise one client is several in the audit log, in `audit --ip` answers and in
 * the rate limits kept per address string, and a mapped IPv4 address would be an IPv6 one. IPv4-mapped
 * IPv6 becomes IPv4 (parseIp: only that form) and IPv6 is compressed lower case (RFC 5952). A zone
 * (fe80::1%eth0) names an interface of the host that saw the address, not the client, and no policy
 * range can name it: it is left out, always.
 */
export function normaliseIp(ip: string): string | undefined {
  const known = spellings.get(ip);
  if (known !== undefined) return known === NOT_AN_ADDRESS ? undefined : known;
  const spelled = parseIp(ip.replace(/%.*$/s, ''))?.toString();
  // Bounded in number and size: behind a proxy the values are the clients' to choose.
  if (ip.length > LONGEST_KEPT) return spelled;
  if (spellings.size >= SPELLINGS_KEPT) spellings.clear();
  spellings.set(ip, spelled ?? NOT_AN_ADDRESS);
  return spelled;
}

/**
 * Each request's address is spelled again (ipaddr.js parses it: a few µs, at every request of a
 * sign-in), while a client sends the same few from one connection to the next. The answer depends
 * on the text alone.
 */
const spellings = new Map<string, string>();
const SPELLINGS_KEPT = 1000;
/** The longest address text with a zone (`ffff:…:255.255.255.255%eth0`) is well under this. */
const LONGEST_KEPT = 64;
const NOT_AN_ADDRESS = '';

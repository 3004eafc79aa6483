import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Logger } from '../core/log.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Correlates log lines, audit events and the reference shown on error pages. */
      requestId: string;
      log: Logger;
      /** From the socket, or from X-Forwarded-For only when the socket is a configured trusted proxy. */
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
        req.log.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, ip: req.clientIp }, 'request');
      });
    }
    next();
  };
}

/**
 * req.ip is X-Forwarded-For's value when a trusted proxy sent the request, and nothing checks it is an
 * address: a proxy passing on whatever the client wrote would put markup, control characters or 12 KB
 * of digits into the logs, the audit log, policies' network checks and the session's sign-in address.
 */
function clientIpOf(req: Request): string {
  const socketIp = req.socket.remoteAddress ?? 'unknown';
  const claimed = req.ip ?? socketIp;
  if (claimed === socketIp || isIP(claimed)) return normaliseIp(claimed);
  req.log.warn({ code: 'FORWARDED_FOR_INVALID', forwardedFor: claimed.slice(0, 100), proxy: socketIp }, 'X-Forwarded-For from a trusted proxy is not an IP address; the proxy address is used');
  return normaliseIp(socketIp);
}

/**
 * One spelling per address, whatever the proxy or socket wrote (2001:DB8:0:0::1, ::FFFF:203.0.113.10,
 * ::ffff:cb00:710a): otherwise one client is several in the audit log, in `audit --ip` answers and in
 * the rate limits kept per address string, and a mapped IPv4 address would be an IPv6 one. IPv4-mapped
 * IPv6 becomes IPv4 and IPv6 is compressed lower case (RFC 5952). A zone (fe80::1%eth0) names an
 * interface of the host that saw the address, not the client, and no policy range can name it: it is
 * left out, always.
 */
function normaliseIp(ip: string): string {
  const address = ip.replace(/%.*$/s, '');
  if (isIP(address) === 0) return ip;
  return ipaddr.process(address).toString();
}

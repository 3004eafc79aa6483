import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
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

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
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
    req.clientIp = normaliseIp(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    req.log = logger.child({ reqId: req.requestId });
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

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

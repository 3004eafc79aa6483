import type { RequestHandler } from 'express';
import { AppError } from '../core/errors.ts';

/**
 * A body declared larger than `limitBytes` is refused before it is read, and the connection closed:
 * a body parser would first read and discard all of it (500 MB took 2.3 s on loopback), or wait for
 * a body that never comes.
 */
export function refuseDeclaredOversize(limitBytes: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length']);
    if (!(declared > limitBytes)) return next();
    res.setHeader('Connection', 'close');
    next(new AppError('REQUEST_TOO_LARGE', { detail: { reason: 'declared-body-too-large', declared, limit: limitBytes } }));
  };
}

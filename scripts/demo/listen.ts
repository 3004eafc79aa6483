import type { Server } from 'node:http';
import type { Express } from 'express';

/**
 * Starts a sample app on loopback; rejects when the port cannot be had. Express 5 calls listen's
 * callback on an error too (with the error), so resolving there printed "Demo ready" with a dead app.
 */
export function listenOnLoopback(app: Express, port: number, what: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, '127.0.0.1', (error?: Error) => (error ? reject(new Error(`${what} cannot listen on 127.0.0.1:${port}: ${error.message}`)) : resolve(server)));
  });
}

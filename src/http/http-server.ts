import { createServer, STATUS_CODES, type Server } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.ts';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { longestRedirectQuery } from '../saml/redirect-binding.ts';

/** Node's default header limit, kept for everything in a request's head besides a SAML Redirect query (path, cookies, other headers). */
const NODE_DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

/**
 * The HTTP server Stepgate listens with (the Express app is attached by the caller). Its header
 * limit takes any Redirect-binding message `saml.maxRequestBytes` allows, so the SAML layer answers
 * such a message, not Node's parser with a bare 431.
 */
export function createHttpServer(config: Config, logger: Logger): Server {
  const server = createServer({ maxHeaderSize: longestRedirectQuery(config.saml.maxRequestBytes) + NODE_DEFAULT_MAX_HEADER_SIZE });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, logger));
  return server;
}

/** What Node answers a request its parser refused, as a status and the catalogue code logged for it. */
const REFUSALS: Record<string, { status: number; code: ErrorCode }> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'REQUEST_TOO_LARGE' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'BAD_REQUEST' },
};

/**
 * A request Node's parser refused never reaches Express (no page, no log line from the error
 * handler): it gets a short plain answer here, and a warning with the code, as other refusals do.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  // A client that went away, or a socket already answered, has no one left to read an answer.
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const { status, code } = REFUSALS[error.code ?? ''] ?? { status: 400, code: 'BAD_REQUEST' };
  logger.warn({ code, status, detail: { reason: error.code }, ip: socket instanceof Socket ? socket.remoteAddress : undefined }, 'http: request refused before it reached the application');
  const body = `${ERROR_CATALOGUE[code].message}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

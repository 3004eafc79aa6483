import { readFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { BoundedMap } from '../core/bounded-map.ts';
import { WarningBudget } from './warning-budget.ts';
import { normaliseIp } from './request-context.ts';
import { STRICT_HEADERS } from './security-headers.ts';

/**
 * A whole request (head and body) must arrive within this: Node's default of 300 s let one client
 * hold a connection for five minutes by sending a form body a byte every few seconds. A sign-in
 * form is a few KB and a SAML POST at most the form limit (102 KB by default, see maxPostBindingFormBytes),
 * seconds even on a poor mobile link.
 */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The HTTP server Stepgate listens with (the Express app is attached by the caller). Node's 16 KiB
 * limit on a request's head (URL and headers) is kept: it bounds what every open connection can make
 * the server hold, and SAML Redirect-binding messages (a few KB) fit in it. A request over it, or
 * one Node cannot parse, still gets an answer and a log line instead of a bare status.
 */
export function createHttpServer(logger: Logger, options: { requestTimeoutMs?: number } = {}): Server {
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  // Node checks the deadlines only this often (30 s by default, which doubled them).
  const server = createServer({ requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(1_000, requestTimeout) });
  server.maxConnections = maxConnections(descriptorLimit());
  const warnings = new RefusalWarnings(logger);
  const latestExchange = new WeakMap<Duplex, Exchange>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => latestExchange.set(req.socket, { req, res }));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, warnings, latestExchange.get(socket)));
  // An Expect other than 100-continue never reaches the application either; Node's own 417 had none of the strict headers.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => answerUnmetExpectation(req, res, warnings));
  return server;
}

/** Connections held at most when the descriptor limit allows more: idle ones cost memory, and no sign-in needs that many at once. */
export const MAX_CONNECTIONS = 10_000;
/** Descriptors kept for everything but client connections: the journal, audit log, lock file, LDAP connections, Node's own. */
const RESERVED_DESCRIPTORS = 100;

/**
 * How many connections the server accepts at once; Node closes any beyond it at once. Without a
 * bound, 20,000 idle connections used up every file descriptor: health checks could not connect,
 * and the journal, audit log and LDAP connections could not be opened. A tenth of the limit (at
 * least RESERVED_DESCRIPTORS) is left for them.
 */
export function maxConnections(limit: number | undefined): number {
  if (limit === undefined) return MAX_CONNECTIONS;
  return Math.max(1, Math.min(MAX_CONNECTIONS, limit - Math.max(RESERVED_DESCRIPTORS, Math.floor(limit / 10))));
}

/**
 * The process's open-file limit (Linux: /proc/self/limits; Node raises the soft limit to the hard one
 * at start, and this reads what it got); undefined where it cannot be read or is unlimited.
 */
export function descriptorLimit(): number | undefined {
  let limits: string;
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
  return Number.isInteger(soft) && soft > 0 ? soft : undefined;
}

/** One warning per client address and reason per minute at most; the next one says how many were not written. */
const WARNING_INTERVAL_MS = 60_000;

/**
 * Warnings of refused connections, thinned out: one client opening thousands of slow or broken
 * connections wrote a line for each (13,000 lines in minutes), burying everything else in the log.
 * Per address first, then for all addresses together (WarningBudget): many clients at once (27,000
 * addresses) each got their one line.
 */
class RefusalWarnings {
  readonly #logger: Logger;
  readonly #last = new BoundedMap<string, { at: number; suppressed: number }>(10_000);
  readonly #budget = new WarningBudget();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  warn(facts: { code: ErrorCode; status: number; reason?: string; ip?: string }): void {
    const key = `${facts.ip} ${facts.reason}`;
    const now = Date.now();
    const last = this.#last.get(key);
    if (last && now - last.at < WARNING_INTERVAL_MS) {
      last.suppressed += 1;
      return;
    }
    this.#last.set(key, { at: now, suppressed: 0 });
    const { code, status, reason, ip } = facts;
    if (!this.#budget.admit(`${code} ${reason}`, this.#logger)) return;
    this.#logger.warn({ code, status, detail: { reason }, ip, ...(last?.suppressed ? { alsoRefusedSinceLastWarning: last.suppressed } : {}) }, 'http: request refused before it reached the application');
  }
}

/** What Node answers a request its parser refused, as a status and the catalogue code logged for it. */
const REFUSALS: Record<string, { status: number; code: ErrorCode }> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'REQUEST_TOO_LARGE' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'BAD_REQUEST' },
};

/**
 * The strict headers every other answer gets from securityHeaders: a cross-site page could otherwise
 * frame these answers (an iframe whose URL is over 16 KiB gets the 431), contrary to "no framing on
 * every response". No HSTS: the server does not know its public URL, and every other answer sets it.
 */
const REFUSAL_HEADERS = [...Object.entries(STRICT_HEADERS), ['Cache-Control', 'no-store']].map(([name, value]) => `${name}: ${value}\r\n`).join('');

/**
 * A request Node's parser refused never reaches Express (no page, no log line from the error
 * handler): it gets a short plain answer here, and a warning with the code, as other refusals do.
 */
/** The last request a connection carried to the application, and its answer. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, warnings: RefusalWarnings, latest: Exchange | undefined): void {
  // A client that went away, or a socket already answered, has no one left to read an answer. One that
  // closed its side in the middle of the body of a request the application has hung up on it: the
  // application logs that once, with the request's id (request.aborted), and it was no parser refusal.
  // A later request on the same keep-alive connection cut off before its head was whole never reached
  // the application: that one is refused here, as on a new connection.
  const hungUpOnApplication = error.code === 'HPE_INVALID_EOF_STATE' && latest !== undefined && !latest.req.complete;
  // The application is still answering the request before the cut-off one: a 400 written now would
  // read as that answer. The answer goes out first, then the connection closes.
  if (error.code === 'HPE_INVALID_EOF_STATE' && !hungUpOnApplication && latest !== undefined && !latest.res.writableFinished && socket.writable) {
    latest.res.once('close', () => socket.destroy());
    return;
  }
  if (error.code === 'ECONNRESET' || !socket.writable || hungUpOnApplication) {
    socket.destroy();
    return;
  }
  const { status, code } = REFUSALS[error.code ?? ''] ?? { status: 400, code: 'BAD_REQUEST' };
  // The spelling every other log line and the audit log use (a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d).
  warnings.warn({ code, status, reason: error.code, ip: socket instanceof Socket && socket.remoteAddress ? normaliseIp(socket.remoteAddress) : undefined });
  const body = `${ERROR_CATALOGUE[code].message}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${REFUSAL_HEADERS}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** A request whose Expect header the server cannot meet (anything but 100-continue): 417, as plain as a parser refusal. */
function answerUnmetExpectation(req: IncomingMessage, res: ServerResponse, warnings: RefusalWarnings): void {
  warnings.warn({ code: 'BAD_REQUEST', status: 417, reason: 'expectation-failed', ip: req.socket.remoteAddress ? normaliseIp(req.socket.remoteAddress) : undefined });
  const body = `${ERROR_CATALOGUE.BAD_REQUEST.message}\n`;
  res.writeHead(417, { ...STRICT_HEADERS, 'Cache-Control': 'no-store', 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

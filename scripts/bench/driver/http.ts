/**
 * The load driver's browser: a small HTTP/1.1 client over kept-alive loopback sockets, one tiny
 * cookie jar per sign-in (the IdP is one host), manual redirects, and regex form parsing. Written
 * lean on purpose (node:http's client costs several times more CPU per request): the driver shares
 * the machine with the IdP it measures.
 */
import { connect, type Socket } from 'node:net';

export interface Reply {
  status: number;
  /** Lower-case names; `set-cookie` keeps every value. */
  headers: { location?: string; 'set-cookie'?: string[]; [name: string]: string | string[] | undefined };
  body: string;
  /** The URL this reply came from. */
  url: string;
}

export class BenchError extends Error {
  readonly step: string;
  constructor(step: string, message: string) {
    super(`${step}: ${message}`);
    this.step = step;
  }
}

/** Cookies of one simulated browser for the IdP origin. */
export class Jar {
  readonly #cookies = new Map<string, string>();

  set(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  header(): string {
    let out = '';
    for (const [name, value] of this.#cookies) out += (out ? '; ' : '') + name + '=' + value;
    return out;
  }

  store(setCookie: string[] | undefined): void {
    if (!setCookie) return;
    for (const line of setCookie) {
      const end = line.indexOf(';');
      const pair = end < 0 ? line : line.slice(0, end);
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0(;|$)/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection; one request at a time (like a browser connection without pipelining). */
class Connection {
  readonly socket: Socket;
  #chunks: Buffer[] = [];
  #length = 0;
  #waiting: { resolve: (reply: Omit<Reply, 'url'>) => void; reject: (error: Error) => void; head: boolean } | undefined;
  closed = false;
  /** Bytes of the current response seen (a failure before any byte may be retried on a fresh connection). */
  received = 0;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.#data(chunk));
    const fail = (error: Error) => {
      this.closed = true;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.reject(error);
    };
    this.socket.on('error', fail);
    // an IdP that stops answering must fail the sign-in, not hang the phase
    this.socket.setTimeout(30_000, () => this.socket.destroy(Object.assign(new Error('no answer within 30 s'), { code: 'ETIMEDOUT' })));
    this.socket.on('close', () => fail(Object.assign(new Error('connection closed by the server'), { code: 'ECONNRESET' })));
  }

  request(raw: string, head: boolean): Promise<Omit<Reply, 'url'>> {
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject, head };
      this.#chunks = [];
      this.#length = 0;
      this.received = 0;
      this.socket.write(raw);
    });
  }

  #data(chunk: Buffer): void {
    this.received += chunk.length;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (!this.#waiting) return;
    const buffer = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [buffer];
    const parsed = parseResponse(buffer, this.#waiting.head);
    if (!parsed) return;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    this.#chunks = [];
    this.#length = 0;
    if (parsed.close) {
      this.closed = true;
      this.socket.end();
    }
    waiting.resolve(parsed.reply);
  }
}

/** A complete response in `buffer`, or undefined while more bytes are needed. Content-Length and chunked bodies. */
function parseResponse(buffer: Buffer, head: boolean): { reply: Omit<Reply, 'url'>; close: boolean } | undefined {
  const end = buffer.indexOf(HEADER_END);
  if (end < 0) return undefined;
  const lines = buffer.toString('latin1', 0, end).split('\r\n');
  const status = Number(lines[0]!.slice(9, 12));
  const headers: Reply['headers'] = {};
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index]!;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'set-cookie') (headers['set-cookie'] ??= []).push(value);
    else headers[name] = value;
  }
  const start = end + 4;
  let body: Buffer;
  if (head || status === 204 || status === 304) body = Buffer.alloc(0);
  else if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    let offset = start;
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buffer.toString('latin1', offset, lineEnd), 16);
      if (size === 0) {
        if (buffer.length < lineEnd + 4) return undefined;
        break;
      }
      if (buffer.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const length = Number(headers['content-length'] ?? 0);
    if (buffer.length < start + length) return undefined;
    body = buffer.subarray(start, start + length);
  }
  return { reply: { status, headers, body: body.toString('utf8') }, close: /close/i.test(String(headers.connection ?? '')) };
}

export class HttpClient {
  readonly origin: string;
  readonly #host: string;
  readonly #port: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();

  constructor(origin: string) {
    const url = new URL(origin);
    this.origin = url.origin;
    this.#host = url.host; // loopback connections, but the Host the IdP's public URL names
    this.#port = Number(url.port || 80);
  }

  #connection(): Connection {
    for (let next = this.#idle.pop(); next; next = this.#idle.pop()) if (!next.closed) return next;
    const connection = new Connection(this.#port);
    this.#all.add(connection);
    connection.socket.once('close', () => this.#all.delete(connection));
    return connection;
  }

  /** One request, no redirect following. `path` is a path on the IdP or an absolute IdP URL. */
  async send(method: string, path: string, options: { jar?: Jar; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const target = path.startsWith('http') ? path.slice(this.origin.length) : path;
    let raw = `${method} ${target} HTTP/1.1\r\nhost: ${this.#host}\r\n`;
    if (!options.headers?.accept) raw += 'accept: text/html\r\n';
    for (const name in options.headers) raw += `${name}: ${options.headers[name]}\r\n`;
    const cookie = options.jar?.header();
    if (cookie) raw += `cookie: ${cookie}\r\n`;
    if (options.body !== undefined) {
      if (!options.headers?.['content-type']) raw += 'content-type: application/x-www-form-urlencoded\r\n';
      raw += `content-length: ${Buffer.byteLength(options.body)}\r\n\r\n${options.body}`;
    } else raw += '\r\n';
    for (let attempt = 0; ; attempt++) {
      const connection = this.#connection();
      const reused = connection.received > 0;
      try {
        const reply = await connection.request(raw, method === 'HEAD');
        if (!connection.closed) this.#idle.push(connection);
        options.jar?.store(reply.headers['set-cookie']);
        return { ...reply, url: this.origin + target };
      } catch (error) {
        connection.socket.destroy();
        // the server may close an idle kept-alive connection just as we reuse it: retry once, fresh
        if (attempt === 0 && reused && connection.received === 0) continue;
        throw error;
      }
    }
  }

  /**
   * Follows redirects within the IdP like a browser (303/302 become GET) and stops at the first
   * redirect that leaves the IdP (to a relying party) or at a page. Returns the last reply.
   */
  async follow(method: string, path: string, options: { jar: Jar; body?: string; headers?: Record<string, string> }): Promise<Reply> {
    let reply = await this.send(method, path, options);
    for (let hop = 0; hop < 15; hop++) {
      const location = reply.headers.location;
      if (reply.status < 300 || reply.status >= 400 || !location) return reply;
      if (/^https?:/.test(location) && !location.startsWith(this.origin + '/')) return reply;
      reply = await this.send('GET', location.startsWith('/') || location.startsWith('http') ? location : new URL(location, reply.url).toString(), { jar: options.jar, headers: options.headers });
    }
    throw new BenchError('redirects', `too many redirects from ${path}`);
  }

  close(): void {
    for (const connection of this.#all) connection.socket.destroy();
    this.#all.clear();
    this.#idle.length = 0;
  }
}

export interface Form {
  action: string;
  fields: Record<string, string>;
}

function decodeEntities(value: string): string {
  return value.indexOf('&') < 0 ? value : value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/g, '/').replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
}

const FORM = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
const INPUT = /<input\b([^>]*)>/gi;

/** The forms of a page with their hidden/prefilled fields; `action` resolved against the page URL. */
export function forms(reply: Reply): Form[] {
  const out: Form[] = [];
  for (const match of reply.body.matchAll(FORM)) {
    const action = decodeEntities(/action="([^"]*)"/i.exec(match[1]!)?.[1] ?? reply.url);
    const fields: Record<string, string> = {};
    for (const input of match[2]!.matchAll(INPUT)) {
      const name = /name="([^"]*)"/i.exec(input[1]!)?.[1];
      if (name) fields[decodeEntities(name)] = decodeEntities(/value="([^"]*)"/i.exec(input[1]!)?.[1] ?? '');
    }
    out.push({ action: new URL(action, reply.url).toString(), fields });
  }
  return out;
}

/** The form whose fields include `field` (e.g. "password", "code", "SAMLResponse"), or a BenchError naming the step. */
export function formWith(reply: Reply, field: string, step: string): Form {
  const form = forms(reply).find((candidate) => field in candidate.fields);
  if (!form) throw new BenchError(step, `expected a form with "${field}", got HTTP ${reply.status} at ${reply.url}: ${reply.body.replace(/\s+/g, ' ').slice(0, 300)}`);
  return form;
}

export function encodeForm(fields: Record<string, string>): string {
  let out = '';
  for (const name in fields) out += (out ? '&' : '') + encodeURIComponent(name) + '=' + encodeURIComponent(fields[name]!);
  return out;
}

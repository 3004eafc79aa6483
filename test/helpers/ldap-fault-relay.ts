import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What the relay does with user binds (every BindRequest whose DN is not the service account's, so the
 * service connections keep working as the directory sees them fail only for users):
 * - pass: forwards everything;
 * - answer-user-binds: answers them itself with `resultCode` (51 busy, 52 unavailable, 80 other…),
 *   so the server never sees them: a directory that is busy or shutting down;
 * - hold-user-bind-responses: forwards them, but holds the server's answers for `ms`: a slow server
 *   that has already judged (and counted) the password when the client gives up waiting;
 * - stall: accepts connections and answers nothing at all, in either direction: a hung server;
 * - fail-base-reads: answers base-scope searches of the entry `base` itself with `resultCode`, so the
 *   server fails exactly that read (e.g. AD's domain root, where maxPwdAge is).
 */
export type LdapFaultMode =
  | { kind: 'pass' }
  | { kind: 'answer-user-binds'; resultCode: number }
  | { kind: 'hold-user-bind-responses'; ms: number }
  | { kind: 'stall' }
  | { kind: 'fail-base-reads'; base: string; resultCode: number };

const BIND_REQUEST = 0x60;
const BIND_RESPONSE = 0x61;
const SEARCH_REQUEST = 0x63;
const SEARCH_RESULT_DONE = 0x65;
const BASE_SCOPE = 0;

/** A BER length at `offset`: [value, bytes the length itself takes], or undefined when not all received yet. */
function berLength(buf: Buffer, offset: number): [number, number] | undefined {
  if (offset >= buf.length) return undefined;
  const first = buf[offset]!;
  if (first < 0x80) return [first, 1];
  const octets = first & 0x7f;
  if (offset + octets >= buf.length) return undefined;
  let length = 0;
  for (let k = 1; k <= octets; k++) length = length * 256 + buf[offset + k]!;
  return [length, 1 + octets];
}

/** Offset just past the TLV that starts at `offset`. */
function afterTlv(buf: Buffer, offset: number): number {
  const [length, lengthBytes] = berLength(buf, offset + 1)!;
  return offset + 1 + lengthBytes + length;
}

/** Cuts the complete LDAPMessages off the front of a TCP stream: [messages, the incomplete rest]. */
function splitMessages(buf: Buffer): [Buffer[], Buffer] {
  const messages: Buffer[] = [];
  for (;;) {
    const length = buf.length >= 2 ? berLength(buf, 1) : undefined;
    if (!length || buf.length < 1 + length[1] + length[0]) return [messages, buf];
    const end = 1 + length[1] + length[0];
    messages.push(buf.subarray(0, end));
    buf = buf.subarray(end);
  }
}

interface LdapMessageHead {
  /** The messageID's whole TLV, to copy into an answer and to pair a response with its request. */
  messageId: Buffer;
  operationTag: number;
  /** The name of a BindRequest. */
  bindDn?: string;
  /** The base object and scope of a SearchRequest. */
  search?: { base: string; scope: number };
}

/** LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp, controls } ; BindRequest ::= { version, name, auth } */
function readHead(message: Buffer): LdapMessageHead {
  const idStart = 1 + berLength(message, 1)![1];
  const opStart = afterTlv(message, idStart);
  const messageId = message.subarray(idStart, opStart);
  const operationTag = message[opStart]!;
  if (operationTag === SEARCH_REQUEST) {
    // SearchRequest ::= [APPLICATION 3] SEQUENCE { baseObject LDAPDN, scope ENUMERATED, ... }
    const baseStart = opStart + 1 + berLength(message, opStart + 1)![1];
    const [baseLength, baseLengthBytes] = berLength(message, baseStart + 1)!;
    const base = message.subarray(baseStart + 1 + baseLengthBytes, baseStart + 1 + baseLengthBytes + baseLength).toString('utf8');
    return { messageId, operationTag, search: { base, scope: message[afterTlv(message, baseStart) + 2]! } };
  }
  if (operationTag !== BIND_REQUEST) return { messageId, operationTag };
  const versionStart = opStart + 1 + berLength(message, opStart + 1)![1];
  const nameStart = afterTlv(message, versionStart);
  const [nameLength, nameLengthBytes] = berLength(message, nameStart + 1)!;
  const valueStart = nameStart + 1 + nameLengthBytes;
  return { messageId, operationTag, bindDn: message.subarray(valueStart, valueStart + nameLength).toString('utf8') };
}

/** A response made of an LDAPResult alone (BindResponse, SearchResultDone) with this result code, empty matchedDN and diagnosticMessage. */
function ldapResult(messageId: Buffer, operationTag: number, resultCode: number): Buffer {
  const operation = Buffer.from([operationTag, 0x07, 0x0a, 0x01, resultCode, 0x04, 0x00, 0x04, 0x00]);
  const body = Buffer.concat([messageId, operation]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/**
 * A loopback TCP relay to an LDAP server that can make the server misbehave for user binds only; the
 * mode can be switched while connections are open and applies to the messages that follow.
 */
export class LdapFaultRelay {
  mode: LdapFaultMode = { kind: 'pass' };
  readonly #target: number;
  readonly #serviceDn: string;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #server: Server | undefined;
  #port = 0;
  /** TCP connections the relay has accepted: how often the client tried the server. */
  connections = 0;
  /** Base-scope searches sent for each entry (lower-cased DN), answered or failed. */
  readonly baseReads = new Map<string, number>();

  private constructor(target: number, serviceDn: string) {
    this.#target = target;
    this.#serviceDn = serviceDn.toLowerCase();
  }

  /** A relay to 127.0.0.1:`port`; binds as `serviceDn` are always forwarded untouched. */
  static async to(port: number, serviceDn: string): Promise<LdapFaultRelay> {
    const relay = new LdapFaultRelay(port, serviceDn);
    const server = createServer((client) => relay.#relay(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay.#port = (server.address() as { port: number }).port;
    relay.#server = server;
    return relay;
  }

  /** ldap://127.0.0.1:<relay port> */
  get url(): string {
    return `ldap://127.0.0.1:${this.#port}`;
  }

  #isUserBind(head: LdapMessageHead): boolean {
    return head.operationTag === BIND_REQUEST && head.bindDn !== undefined && head.bindDn.toLowerCase() !== this.#serviceDn;
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => (this.#timers.delete(timer), fn()), ms);
    this.#timers.add(timer);
  }

  #relay(client: Socket): void {
    this.connections += 1;
    const server = connect(this.#target, '127.0.0.1');
    // message IDs of user binds on this connection whose answers are to be held
    const heldIds = new Set<string>();
    let fromClient: Buffer = Buffer.alloc(0);
    let fromServer: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      const [messages, rest] = splitMessages(Buffer.concat([fromClient, chunk]));
      fromClient = rest;
      for (const message of messages) {
        const head = readHead(message);
        const mode = this.mode;
        if (mode.kind === 'stall') continue;
        const baseRead = head.search?.scope === BASE_SCOPE ? head.search.base.toLowerCase() : undefined;
        if (baseRead !== undefined) this.baseReads.set(baseRead, (this.baseReads.get(baseRead) ?? 0) + 1);
        if (baseRead !== undefined && mode.kind === 'fail-base-reads' && baseRead === mode.base.toLowerCase()) {
          client.write(ldapResult(head.messageId, SEARCH_RESULT_DONE, mode.resultCode));
          continue;
        }
        if (this.#isUserBind(head) && mode.kind === 'answer-user-binds') {
          client.write(ldapResult(head.messageId, BIND_RESPONSE, mode.resultCode));
          continue;
        }
        if (this.#isUserBind(head) && mode.kind === 'hold-user-bind-responses') heldIds.add(head.messageId.toString('hex'));
        server.write(message);
      }
    });
    server.on('data', (chunk: Buffer) => {
      const [messages, rest] = splitMessages(Buffer.concat([fromServer, chunk]));
      fromServer = rest;
      for (const message of messages) {
        const head = readHead(message);
        const id = head.messageId.toString('hex');
        const mode = this.mode;
        if (mode.kind === 'stall') continue;
        if (head.operationTag === BIND_RESPONSE && heldIds.delete(id) && mode.kind === 'hold-user-bind-responses') this.#later(mode.ms, () => client.destroyed || client.write(message));
        else client.write(message);
      }
    });
    for (const [from, to] of [[client, server], [server, client]] as const) {
      this.#sockets.add(from);
      from.on('error', () => undefined).on('close', () => (this.#sockets.delete(from), to.destroy()));
    }
  }

  /** Closes every relayed connection and stops listening. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP relay on loopback to a local port that can be cut and restored on the same port: a server that goes away and comes back. */
export class TcpRelay {
  readonly #target: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port = 0;

  private constructor(target: number) {
    this.#target = target;
  }

  static async to(port: number): Promise<TcpRelay> {
    const relay = new TcpRelay(port);
    await relay.restore();
    return relay;
  }

  /** ldap://127.0.0.1:<relay port> */
  get url(): string {
    return `ldap://127.0.0.1:${this.#port}`;
  }

  async restore(): Promise<void> {
    const server = createServer((downstream) => {
      const upstream = connect(this.#target, '127.0.0.1');
      for (const [from, to] of [[downstream, upstream], [upstream, downstream]] as const) {
        this.#sockets.add(from);
        from.pipe(to);
        from.on('error', () => undefined).on('close', () => (this.#sockets.delete(from), to.destroy()));
      }
    });
    // The same port again after cut(): should another process have taken it meanwhile, that is an error here.
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.#port, '127.0.0.1', () => (server.off('error', reject), resolve())));
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Closes every relayed connection and stops listening: connecting is refused until restore(). */
  async cut(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

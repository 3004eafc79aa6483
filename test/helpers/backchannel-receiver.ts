import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';

/**
 * The relying parties' back-channel endpoints, one loopback server: every POST is recorded by path
 * before it is answered. Paths ending in /500 answer 500, paths ending in /hang never answer.
 */
export class BackchannelReceiver {
  readonly received: Array<{ path: string; contentType?: string; token: string }> = [];
  #server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', contentType: req.headers['content-type'], token: new URLSearchParams(body).get('logout_token') ?? '' });
      if (req.url?.endsWith('/hang')) return;
      res.statusCode = req.url?.endsWith('/500') ? 500 : 200;
      res.setHeader('cache-control', 'no-store');
      res.end();
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A fresh endpoint path, so each test counts only its own deliveries. */
  endpoint(suffix = ''): string {
    return `${this.url}/${randomBytes(6).toString('hex')}${suffix}`;
  }

  tokensAt(uri: string): string[] {
    const path = new URL(uri).pathname;
    return this.received.filter((entry) => entry.path === path).map((entry) => entry.token);
  }
}

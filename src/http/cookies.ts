import type { Request, Response } from 'express';
import { parse, serialize } from 'cookie';

/**
 * One place that decides cookie names and attributes: HttpOnly, SameSite=Lax, Path=/, Secure when
 * served over https. Over https the names carry the `__Host-` prefix: the browser then accepts the
 * cookie only from this host, Secure, for Path=/, so a sibling host under the same parent domain (or
 * an injected plain-http response for one) cannot plant a session or binding cookie of its own.
 */
export class CookieJar {
  readonly #secure: boolean;

  constructor(publicUrl: string) {
    this.#secure = publicUrl.startsWith('https:');
  }

  /**
   * The cookie's value; none when the request carries the name twice. Two cookies of one name mean
   * one was planted (a more specific Path or another Domain is sent first, and would win).
   */
  read(req: Request, name: string): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    const wireName = this.#wireName(name);
    // Names compared as the parser reads them, trimmed: `sg_session =x` (a nameless cookie a sibling
    // host can plant, sent as its bare value) is the parser's sg_session too, and would win if first.
    const sent = header.split(';').filter((pair) => pair.includes('=') && pair.slice(0, pair.indexOf('=')).trim() === wireName).length;
    return sent === 1 ? parse(header)[wireName] : undefined;
  }

  set(res: Response, name: string, value: string, options: { maxAgeSeconds?: number } = {}): void {
    res.append('Set-Cookie', serialize(this.#wireName(name), value, { httpOnly: true, sameSite: 'lax', secure: this.#secure, path: '/', maxAge: options.maxAgeSeconds }));
  }

  clear(res: Response, name: string): void {
    res.append('Set-Cookie', serialize(this.#wireName(name), '', { httpOnly: true, sameSite: 'lax', secure: this.#secure, path: '/', maxAge: 0 }));
  }

  #wireName(name: string): string {
    return this.#secure ? `__Host-${name}` : name;
  }
}

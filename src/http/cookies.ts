import type { Request, Response } from 'express';
import { parse, serialize } from 'cookie';

/** One place that decides cookie attributes: HttpOnly, SameSite=Lax, Secure when served over https. */
export class CookieJar {
  readonly #secure: boolean;

  constructor(publicUrl: string) {
    this.#secure = publicUrl.startsWith('https:');
  }

  read(req: Request, name: string): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    return parse(header)[name];
  }

  set(res: Response, name: string, value: string, options: { maxAgeSeconds?: number } = {}): void {
    res.append('Set-Cookie', serialize(name, value, { httpOnly: true, sameSite: 'lax', secure: this.#secure, path: '/', maxAge: options.maxAgeSeconds }));
  }

  clear(res: Response, name: string): void {
    res.append('Set-Cookie', serialize(name, '', { httpOnly: true, sameSite: 'lax', secure: this.#secure, path: '/', maxAge: 0 }));
  }
}

import type { Request, Response } from 'express';
import { parse, serialize } from 'cookie';

interface ParsedHeader {
  header: string;
  values: Record<string, string | undefined>;
  /** How often each name is sent. */
  sent: Map<string, number>;
}

/**
 * A request's Cookie header, parsed once: a sign-in's request reads several cookies, some more than
 * once (the browser binding, for the transaction and the form token). Parsed again when the header
 * is not the one parsed (the OIDC bridge rewrites it to resume an authorization request).
 */
const parsedHeaders = new WeakMap<Request, ParsedHeader>();

function cookiesOf(req: Request, header: string): ParsedHeader {
  const known = parsedHeaders.get(req);
  if (known?.header === header) return known;
  const sent = new Map<string, number>();
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1) continue;
    // Names counted as the parser reads them, trimmed: `sg_session =x` (a nameless cookie a sibling
    // host can plant, sent as its bare value) is the parser's sg_session too, and would win if first.
    const name = pair.slice(0, equals).trim();
    sent.set(name, (sent.get(name) ?? 0) + 1);
  }
  const parsed = { header, values: parse(header), sent };
  parsedHeaders.set(req, parsed);
  return parsed;
}

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
    const cookies = cookiesOf(req, header);
    return cookies.sent.get(wireName) === 1 ? cookies.values[wireName] : undefined;
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

import type { Request, Response } from 'express';
import { randomId } from '../core/ids.ts';
import { AppError } from '../core/errors.ts';
import { safeEqual, type SecretBox } from '../core/secret-box.ts';
import type { CookieJar } from './cookies.ts';

const BINDING_COOKIE = 'sg_bb';

/**
 * Every browser gets a random binding cookie; form tokens are a MAC of it. Stateless, and a token
 * from one browser is useless in another. The Origin header, when sent, must be our own origin.
 */
export class Csrf {
  readonly #box: SecretBox;
  readonly #cookies: CookieJar;
  readonly #origin: string;
  /** Named on the "cookies blocked" page: where the user must allow them. */
  readonly #host: string;

  constructor(box: SecretBox, cookies: CookieJar, publicUrl: string) {
    this.#box = box;
    this.#cookies = cookies;
    this.#origin = new URL(publicUrl).origin;
    this.#host = new URL(publicUrl).host;
  }

  /** The browser binding of this request, created (and set as a cookie) when absent. */
  binding(req: Request, res: Response): string {
    const existing = this.#cookies.read(req, BINDING_COOKIE) ?? (res.locals.browserBinding as string | undefined);
    if (existing) return existing;
    const created = randomId(24);
    res.locals.browserBinding = created;
    this.#cookies.set(res, BINDING_COOKIE, created);
    return created;
  }

  existingBinding(req: Request): string | undefined {
    return this.#cookies.read(req, BINDING_COOKIE);
  }

  /**
   * The refusal for a request that should carry the binding cookie (a form, a page of a sign-in
   * bound to a browser) and carries none: the browser did not keep it. Reloading never helps there.
   */
  cookiesBlocked(detail: Record<string, unknown>): AppError {
    return new AppError('COOKIES_BLOCKED', { userMessage: `Your browser did not send this site's cookies (they may be blocked, or were cleared). Allow cookies for ${this.#host}, then start again from the application that sent you here, or from the page you were on.`, detail });
  }

  token(req: Request, res: Response): string {
    return this.#box.mac('csrf', this.binding(req, res));
  }

  /**
   * A form posted from another address: a page of this service opened at a name or scheme other than
   * its public URL (a proxy alias, the internal address, plain http) can never be sent, and reloading
   * it does not help; a forged form from another site gets the same plain account of what happened.
   */
  #elsewhere(): string {
    return `This form was sent from another address than this sign-in service's (${this.#origin}), so it was not accepted. Open ${this.#origin}, or the application that sent you here, and try again.`;
  }

  verify(req: Request): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== this.#origin) throw new AppError('CSRF_FAILED', { detail: { origin }, ...(origin === 'null' ? {} : { userMessage: this.#elsewhere() }) });
    const binding = this.#cookies.read(req, BINDING_COOKIE);
    const sent = typeof req.body?._csrf === 'string' ? req.body._csrf : '';
    if (!binding) {
      // No cookie at all: the browser blocks them. Some cookies but not this one (or it twice, one
      // planted): the form protection failed, and "allow cookies" would be the wrong advice.
      if (req.headers.cookie === undefined) throw this.cookiesBlocked({ reason: 'form-without-binding-cookie' });
      throw new AppError('CSRF_FAILED', { detail: { hasBinding: false, hasToken: !!sent } });
    }
    if (!sent || !safeEqual(sent, this.#box.mac('csrf', binding))) throw new AppError('CSRF_FAILED', { detail: { hasBinding: true, hasToken: !!sent } });
  }
}

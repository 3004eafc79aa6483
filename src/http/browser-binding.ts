import type { Request, Response } from 'express';
import { randomId } from '../core/ids.ts';
import { AppError } from '../core/errors.ts';
import type { CookieJar } from './cookies.ts';

const BINDING_COOKIE = 'sg_bb';

/**
 * Which browser a request comes from: each browser gets a random cookie the first time it needs one.
 * A sign-in (TransactionBinding) and a SAML logout run belong to the browser they were opened in, and
 * the CSRF form tokens are a MAC of it (Csrf).
 */
export class BrowserBinding {
  readonly #cookies: CookieJar;
  /** Named on the "cookies blocked" page: where the user must allow them. */
  readonly #host: string;

  constructor(cookies: CookieJar, publicUrl: string) {
    this.#cookies = cookies;
    this.#host = new URL(publicUrl).host;
  }

  /** This browser's binding, created (and set as a cookie) when absent. */
  ensure(req: Request, res: Response): string {
    const existing = this.#cookies.read(req, BINDING_COOKIE) ?? (res.locals.browserBinding as string | undefined);
    if (existing) return existing;
    const created = randomId(24);
    res.locals.browserBinding = created;
    this.#cookies.set(res, BINDING_COOKIE, created);
    return created;
  }

  /** The binding the request carries; none when the browser has none (or sent two: one was planted). */
  existing(req: Request): string | undefined {
    return this.#cookies.read(req, BINDING_COOKIE);
  }

  /**
   * The refusal for a request that should carry the binding cookie (a form, a page of a sign-in
   * bound to a browser) and carries none: the browser did not keep it. Reloading never helps there.
   */
  cookiesBlocked(detail: Record<string, unknown>): AppError {
    return new AppError('COOKIES_BLOCKED', { userMessage: `Your browser did not send this site's cookies (they may be blocked, or were cleared). Allow cookies for ${this.#host}, then start again from the application that sent you here, or from the page you were on.`, detail });
  }
}

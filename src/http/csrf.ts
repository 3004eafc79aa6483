import type { Request, Response } from 'express';
import { AppError } from '../core/errors.ts';
import { safeEqual, type SecretBox } from '../core/secret-box.ts';
import type { BrowserBinding } from './browser-binding.ts';

/**
 * Form tokens are a MAC of the browser's binding cookie (BrowserBinding). Stateless, and a token
 * from one browser is useless in another. The Origin header, when sent, must be our own origin.
 */
export class Csrf {
  readonly #box: SecretBox;
  readonly #browser: BrowserBinding;
  readonly #origin: string;

  constructor(box: SecretBox, browser: BrowserBinding, publicUrl: string) {
    this.#box = box;
    this.#browser = browser;
    this.#origin = new URL(publicUrl).origin;
  }

  token(req: Request, res: Response): string {
    return this.#box.mac('csrf', this.#browser.ensure(req, res));
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
    const binding = this.#browser.existing(req);
    const sent = typeof req.body?._csrf === 'string' ? req.body._csrf : '';
    if (!binding) {
      // No cookie at all: the browser blocks them. Some cookies but not this one (or it twice, one
      // planted): the form protection failed, and "allow cookies" would be the wrong advice.
      if (req.headers.cookie === undefined) throw this.#browser.cookiesBlocked({ reason: 'form-without-binding-cookie' });
      throw new AppError('CSRF_FAILED', { detail: { hasBinding: false, hasToken: !!sent } });
    }
    if (!sent || !safeEqual(sent, this.#box.mac('csrf', binding))) throw new AppError('CSRF_FAILED', { detail: { hasBinding: true, hasToken: !!sent } });
  }
}

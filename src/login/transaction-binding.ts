import type { Request, Response } from 'express';
import type { BrowserBinding } from '../http/browser-binding.ts';
import { AppError } from '../core/errors.ts';
import { safeEqual } from '../core/secret-box.ts';
import type { LoginTransaction, TransactionStore } from './transaction.ts';
import { SignInFinished } from './finished-sign-in.ts';

/**
 * Which browser a sign-in belongs to: the one whose binding cookie it was opened or first shown
 * with. Any other browser is told only that the sign-in is unknown, which reveals nothing.
 */
export class TransactionBinding {
  readonly #transactions: TransactionStore;
  readonly #browser: BrowserBinding;

  constructor(transactions: TransactionStore, browser: BrowserBinding) {
    this.#transactions = transactions;
    this.#browser = browser;
  }

  /** Loads a transaction for this browser, binding it on first use. */
  async load(req: Request, res: Response, id: string): Promise<LoginTransaction> {
    const firstUse = this.#transactions.isUnused(id);
    const tx = await this.#transactions.get(id);
    if (!tx) throw await this.#gone(req, id);
    // The request that opened it set the binding cookie and redirected here, and the first page
    // comes without it: this browser does not keep cookies, so every try would end here. (Later,
    // a browser without the cookie is another one, told only the generic message.)
    if (firstUse && tx.browserBinding && !this.#browser.existing(req)) throw this.#browser.cookiesBlocked({ tx: id.slice(0, 8), reason: 'page-without-binding-cookie' });
    const binding = this.#browser.ensure(req, res);
    if (!tx.browserBinding) {
      const bound = { ...tx, browserBinding: binding };
      await this.#transactions.save(bound);
      return bound;
    }
    if (!safeEqual(tx.browserBinding, binding)) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'other-browser' } });
    return tx;
  }

  /** The transaction if it is still open and already belongs to this browser; never binds it. */
  async openInThisBrowser(req: Request, id: string): Promise<LoginTransaction | undefined> {
    const tx = await this.#transactions.get(id);
    const binding = this.#browser.existing(req);
    return tx?.browserBinding && binding && safeEqual(tx.browserBinding, binding) ? tx : undefined;
  }

  /**
   * Why a transaction cannot be used. Its own browser is told that it finished (SignInFinished), or,
   * when it only expired, which application to go back to; anyone else gets the generic message.
   */
  async #gone(req: Request, id: string): Promise<AppError> {
    const expired = await this.#transactions.expired(id);
    const binding = this.#browser.existing(req);
    if (!expired?.browserBinding || !binding || !safeEqual(expired.browserBinding, binding)) return new AppError('TRANSACTION_UNKNOWN', { detail: { tx: id.slice(0, 8) } });
    if (expired.finished) return new SignInFinished(expired.request, expired.finished, id);
    return new AppError('TRANSACTION_UNKNOWN', { userMessage: expiredSignInMessage(expired.request.rpName), detail: { tx: id.slice(0, 8), reason: 'expired', rp: expired.request.rpId } });
  }
}

/** What the browser of an expired sign-in is told: which application, and what to do there. */
function expiredSignInMessage(rpName: string): string {
  return `Your sign-in to ${rpName} was not finished in time, so it has expired. Go back to ${rpName} and sign in again.`;
}

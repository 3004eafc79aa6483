import type { Request, Response } from 'express';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { safeEqual, type SecretBox } from '../core/secret-box.ts';
import type { BrowserBinding } from '../http/browser-binding.ts';
import type { KeyValue } from '../store/store.ts';
import type { BindingName } from './constants.ts';

const NAMESPACE = 'saml-slo-run';
/** Each hop re-arms it: an SP that never answers leaves the browser there, and the run simply expires. */
export const RUN_TTL_SECONDS = 300;
const RUN_ID = /^[A-Za-z0-9_-]{43}$/;
const NOT_IN_PROGRESS = 'The application answered a sign-out that is not in progress in this browser, or that has expired. Go back to the application.';

/** A session participant to be sent a LogoutRequest (copied from SessionParticipant). */
export interface SloTarget {
  rpId: string;
  nameId?: string;
  nameIdFormat?: string;
  sessionIndex?: string;
}

/** signed-out: answered Success; refused: answered another status; not-asked: no SLO endpoint (or no NameID, or the SP was removed). */
export type SloOutcome = 'signed-out' | 'refused' | 'not-asked';

export interface SloResult {
  rpId: string;
  /** The SP's display name when the result was known. */
  name: string;
  outcome: SloOutcome;
  /** The SP's status codes, or why it was not asked. */
  detail?: string;
}

/** Who asked for the logout, and so who gets the final answer. */
export type SloOrigin =
  | { kind: 'sp'; spId: string; requestId: string; binding: BindingName; relayState?: string; sessionEnded: boolean }
  | { kind: 'idp' }
  /**
   * An OIDC client's logout: the browser ends at its post-logout redirect URI (checked by oidc-provider),
   * or at the provider's own signed-out page (`ownPage`; absent in runs stored by earlier versions).
   */
  | { kind: 'redirect'; url: string; ownPage?: boolean };

/** One front-channel logout run: the browser visits each other SAML participant in turn. */
export interface SloRun {
  /** MAC of the browser binding cookie: the run only advances in the browser that started it. */
  browser: string;
  user: { id: string; username: string };
  origin: SloOrigin;
  /** Participants not asked yet, in order. */
  queue: SloTarget[];
  /** The participant asked now, with the ID of the LogoutRequest it was sent. */
  awaiting?: SloTarget & { requestId: string };
  results: SloResult[];
}

/** A run read from the store, with its id (the RelayState it was found by). */
export interface LoadedRun {
  id: string;
  run: SloRun;
}

/**
 * Logout runs in the store, keyed by a random id that travels as the RelayState of each LogoutRequest.
 * The RelayState is seen by every SP of the chain and the browser's history, so the id alone is not
 * trusted: a run only advances in a browser whose binding cookie (BrowserBinding) matches, and then only
 * with a signed LogoutResponse that answers the exact request pending. Someone else's run id is thus
 * worthless: the session it belongs to has already ended, and nothing else can be done with it.
 */
export class SloRuns {
  readonly #kv: KeyValue;
  readonly #box: SecretBox;
  readonly #browser: BrowserBinding;

  constructor(kv: KeyValue, box: SecretBox, browser: BrowserBinding) {
    this.#kv = kv;
    this.#box = box;
    this.#browser = browser;
  }

  /** A fresh run id and this browser's tag (the binding cookie is set when the browser has none yet). */
  open(req: Request, res: Response): { id: string; browser: string } {
    return { id: randomId(), browser: this.#tag(this.#browser.ensure(req, res)) };
  }

  /** The run, without the browser check: for a cross-site POST, which carries no SameSite=Lax cookie. */
  async unbound(id: string | undefined): Promise<LoadedRun> {
    const run = id !== undefined && RUN_ID.test(id) ? await this.#kv.get<SloRun>(NAMESPACE, id) : undefined;
    if (!run) throw notInProgress('unexpected-logout-response');
    return { id: id!, run };
  }

  /** The run, when it belongs to this browser. */
  async bound(id: string | undefined, req: Request): Promise<LoadedRun> {
    const loaded = await this.unbound(id);
    const binding = this.#browser.existing(req);
    if (!binding || !safeEqual(this.#tag(binding), loaded.run.browser)) throw notInProgress('logout-run-of-another-browser');
    return loaded;
  }

  /** Writes `next` only over `expected` (absent for a new run): of two answers racing, one wins. */
  async replace(id: string, expected: SloRun | undefined, next: SloRun): Promise<void> {
    // Durable: a restart in the middle of a run must not leave the remaining applications untold.
    const written = await this.#kv.compareAndSet(NAMESPACE, id, expected, next, { ttlSeconds: RUN_TTL_SECONDS });
    if (!written) throw notInProgress('logout-run-changed');
  }

  async remove(id: string): Promise<void> {
    await this.#kv.delete(NAMESPACE, id);
  }

  /** Stored as a MAC so the store never holds the cookie value itself (the CSRF tokens derive from it). */
  #tag(binding: string): string {
    return this.#box.mac('saml-slo-browser', binding);
  }
}

function notInProgress(reason: string): AppError {
  return new AppError('SAML_REQUEST_INVALID', { userMessage: NOT_IN_PROGRESS, detail: { reason } });
}

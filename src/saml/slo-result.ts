import type { Request, Response } from 'express';
import { randomId } from '../core/ids.ts';
import { safeEqual, type SecretBox } from '../core/secret-box.ts';
import type { BrowserBinding } from '../http/browser-binding.ts';
import { sendPage } from '../http/render.ts';
import type { SessionService } from '../session/session-service.ts';
import type { KeyValue } from '../store/store.ts';
import { signedOutPage } from '../../views/signed-out.ts';

const NAMESPACE = 'saml-slo-result';
/** Long enough for a Reload or Back a while after the sign-out; the page names applications only. */
const RESULT_TTL_SECONDS = 15 * 60;
const RESULT_ID = /^[A-Za-z0-9_-]{43}$/;

export const SLO_RESULT_PATH = '/saml/slo/done';

/** What the last page of a sign-out through the SAML applications says. */
export interface SloResultPage {
  sessionEnded: boolean;
  confirmed: string[];
  unconfirmed: string[];
}

interface StoredResult extends SloResultPage {
  /** MAC of the browser binding cookie: only the browser that signed out is shown its applications. */
  browser: string;
}

/**
 * The end of a logout run is a redirect to a page of its own, not a page in answer to the last
 * application's LogoutResponse (or to the POST of /logout): that answer is accepted once, so a
 * Reload of a page shown in its place sent it again and got a 400.
 */
export class SloResults {
  readonly #kv: KeyValue;
  readonly #box: SecretBox;
  readonly #browser: BrowserBinding;
  readonly #sessions: SessionService;

  constructor(kv: KeyValue, box: SecretBox, browser: BrowserBinding, sessions: SessionService) {
    this.#kv = kv;
    this.#box = box;
    this.#browser = browser;
    this.#sessions = sessions;
  }

  /** Keeps the result for this browser and sends it to the page that shows it. */
  async show(req: Request, res: Response, page: SloResultPage): Promise<void> {
    const id = randomId();
    const stored: StoredResult = { browser: this.#tag(this.#browser.ensure(req, res)), ...page };
    await this.#kv.set(NAMESPACE, id, stored, { ttlSeconds: RESULT_TTL_SECONDS });
    res.redirect(303, `${SLO_RESULT_PATH}?id=${id}`);
  }

  /** GET SLO_RESULT_PATH: the result again on every Reload, in the browser it belongs to. */
  async page(req: Request, res: Response, id: string): Promise<void> {
    const stored = RESULT_ID.test(id) ? await this.#kv.get<StoredResult>(NAMESPACE, id) : undefined;
    const binding = this.#browser.existing(req);
    // Expired, or another browser's: the provider's own signed-out page judges it (someone signed in is offered the sign-out there).
    if (!stored || !binding || !safeEqual(this.#tag(binding), stored.browser)) return res.redirect(303, '/signed-out');
    // Signed in again since (another tab): "You are signed out" would no longer be true. A page that
    // said there was no sign-in to end (an SP naming another session) ended nothing: it is shown as it was.
    if (stored.sessionEnded && (await this.#sessions.toSignOut(req))) return res.redirect(303, '/logout');
    const { browser: _browser, ...result } = stored;
    sendPage(res, signedOutPage(result));
  }

  #tag(binding: string): string {
    return this.#box.mac('saml-slo-result-browser', binding);
  }
}

import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../core/errors.ts';
import { pendingInteraction } from './inline-interaction.ts';
import type Provider from 'oidc-provider';
import { RESUME_COOKIE, ROUTES } from './provider.ts';
import type { CookieSigner } from './cookie-signer.ts';
import { refuseDeclaredOversize } from '../http/declared-size.ts';

const PROVIDER_ROUTES: readonly string[] = Object.values(ROUTES);

/** The endpoints a client may also send the browser to by form POST (OIDC Core 3.1.2.1, RP-Initiated Logout 1.0 §2). */
const FORM_POST_ROUTES: ReadonlySet<string> = new Set([ROUTES.authorization, ROUTES.end_session]);

/** The sign-out confirmation: oidc-provider's route for the form Stepgate's page (pages.ts) posts. */
const SIGN_OUT_CONFIRMATION = `${ROUTES.end_session}/confirm`;

/** The parameters must fit in the URL of the GET they become, which proxies in front of Stepgate may limit to 8–16 KiB. */
const FORM_POST_LIMIT_BYTES = 8 * 1024;
const refuseOversize = refuseDeclaredOversize(FORM_POST_LIMIT_BYTES);
const readForm = express.text({ type: 'application/x-www-form-urlencoded', limit: FORM_POST_LIMIT_BYTES });

/** Requests oidc-provider answers: discovery at the issuer's well-known path, and its routes (and their sub-paths). */
export function isProviderPath(path: string): boolean {
  return path === '/.well-known/openid-configuration' || PROVIDER_ROUTES.some((route) => path === route || path.startsWith(`${route}/`));
}

export interface BridgeDeps {
  /** Answers an interaction oidc-provider created in this request (see inline-interaction.ts). */
  startInteraction: (req: Request, res: Response, uid: string) => Promise<void>;
  cookieSigner: CookieSigner;
}

export interface ProviderBridge {
  middleware: RequestHandler;
  /**
   * Continues the authorization request in this same response, as the browser would after a 303 to
   * /oidc/auth/<uid>: the request is re-addressed to oidc-provider's resume route and carries the
   * resume cookie that route checks. For the OIDC finisher only, whose sign-in transaction is bound
   * to this browser and names the interaction: the very binding that cookie proves.
   */
  resume: (req: Request, res: Response, uid: string) => Promise<void>;
}

/**
 * Hands oidc-provider's requests to it (it is a Koa app) from inside Express.
 *
 * Koa can only trust all forwarded headers or none; Express already decided, per configured proxy
 * CIDR, which client address to believe. So Koa is told to trust the headers and they are set here:
 * the scheme and host of the public URL (the issuer never depends on a Host header, which also makes
 * cookies Secure exactly when the public URL is https, as Stepgate's own cookies are) and the client
 * address Express computed.
 */
export function providerBridge(provider: Provider, publicUrl: string, deps: BridgeDeps): ProviderBridge {
  const handle = provider.callback();
  const { protocol, host, origin } = new URL(publicUrl);
  provider.proxy = true;
  const dispatch = async (req: Request, res: Response): Promise<void> => {
    pinForwardedHeaders(req, protocol.slice(0, -1), host);
    allowHashedScripts(res);
    await handle(req, res);
    const uid = pendingInteraction(req);
    if (uid !== undefined) await deps.startInteraction(req, res, uid);
  };
  return {
    middleware: (req, res, next) => {
      if (!isProviderPath(req.path)) return next();
      if (req.method === 'POST' && FORM_POST_ROUTES.has(asRouted(req.path))) return formPostAsGet(req, res, next);
      if (req.method === 'POST' && asRouted(req.path) === SIGN_OUT_CONFIRMATION && sentFromElsewhere(req, origin)) return next(new AppError('CSRF_FAILED', { detail: { origin: req.headers.origin, form: 'oidc-sign-out-confirmation' } }));
      dispatch(req, res).catch(next);
    },
    resume: async (req, res, uid) => {
      // Within a request oidc-provider itself answered (a silent sign-in on the authorization
      // request), its own cookies from this response are not in the request: the browser resumes.
      if (pendingInteraction(req) !== undefined) {
        res.redirect(303, `${ROUTES.authorization}/${encodeURIComponent(uid)}`);
        return;
      }
      const cookie = `${RESUME_COOKIE}=${uid}`;
      const others = (req.headers.cookie ?? '').split(/;\s*/).filter((pair) => pair && !pair.startsWith(`${RESUME_COOKIE}=`) && !pair.startsWith(`${RESUME_COOKIE}.sig=`));
      req.headers.cookie = [...others, cookie, `${RESUME_COOKIE}.sig=${deps.cookieSigner.sign(cookie)}`].join('; ');
      req.method = 'GET';
      req.url = `${ROUTES.authorization}/${encodeURIComponent(uid)}`;
      delete req.headers['content-type'];
      delete req.headers['content-length'];
      await dispatch(req, res);
    },
  };
}

/**
 * A form POST to the authorization or end-session endpoint is answered with a 303 to the same endpoint
 * with the parameters as its query. A cross-site POST carries none of this site's SameSite=Lax cookies
 * (Stepgate's SSO session, oidc-provider's session), so answered as it is, it would show the password
 * page to a signed-in user and replace the provider session. The GET is a top-level navigation, which
 * carries them. oidc-provider's own POST support (enableHttpPostMethods) needs its session cookie
 * SameSite=None, which browsers refuse without Secure, i.e. on an http public URL.
 */
function formPostAsGet(req: Request, res: Response, next: NextFunction): void {
  refuseOversize(req, res, (refused?: unknown) => {
    if (refused) return next(refused);
    readForm(req, res, (error?: unknown) => {
      if (error) return next(error);
      if (typeof req.body !== 'string') return next(new AppError('BAD_REQUEST', { detail: { reason: 'oidc-post-not-a-form', contentType: req.headers['content-type'] } }));
      const query = new URLSearchParams(req.body).toString();
      res.redirect(303, query ? `${req.path}?${query}` : req.path);
    });
  });
}

function pinForwardedHeaders(req: Request, protocol: string, host: string): void {
  req.headers['x-forwarded-proto'] = protocol;
  req.headers['x-forwarded-host'] = host;
  req.headers['x-forwarded-for'] = req.clientIp;
}

/**
 * oidc-provider's auto-submitting pages (form_post responses, logout without a session) add the
 * hash of their one inline script to `script-src`, but only when that directive exists.
 */
function allowHashedScripts(res: Parameters<RequestHandler>[1]): void {
  const csp = res.getHeader('Content-Security-Policy');
  if (typeof csp === 'string' && !/(^|;)\s*script-src\b/.test(csp)) res.setHeader('Content-Security-Policy', `${csp}; script-src 'self'`);
}

/**
 * `path` as oidc-provider's router matches it to a route: without case and with one trailing slash, so
 * `…/end/CONFIRM` and `…/end/confirm/` confirm a sign-out, and `/oidc/auth/` takes an authorization
 * request, as the routes themselves do (ROUTES are lower case).
 */
export function asRouted(path: string): string {
  return path.replace(/\/$/, '').toLowerCase();
}

/**
 * As for Stepgate's other forms (http/csrf.ts), an Origin header, when sent, must be the public URL's:
 * the confirmation's xsrf value ties it to its page, and a form posted from another site is refused
 * before oidc-provider acts on it.
 */
function sentFromElsewhere(req: Request, origin: string): boolean {
  return req.headers.origin !== undefined && req.headers.origin !== origin;
}

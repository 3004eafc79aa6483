import { Router, type Request, type Response } from 'express';
import type { Services } from '../services.ts';
import { sendPage } from '../http/render.ts';
import { logoutConfirmPage } from '../../views/logout.ts';
import { signedOutPage } from '../../views/signed-out.ts';
import type { LogoutPropagation } from './logout-propagation.ts';

/**
 * Set by the POST that ended a session, read once by the signed-out page it redirects to. A cookie,
 * not a query parameter: a link from anywhere could otherwise make that page say "signed out" to
 * someone still signed in.
 */
const SIGNED_OUT_COOKIE = 'sg_signed_out';
const SIGNED_OUT_SECONDS = 60;

/** IdP-initiated logout: a confirmation page (so a cross-site link cannot sign anyone out) and the POST that ends the session. */
export function logoutRoutes(services: Services, propagate?: LogoutPropagation): Router {
  const router = Router();
  router.get('/logout', async (req, res) => {
    const session = await services.sessions.toSignOut(req);
    // Idled out for the browser: the sign-out still ends it, but the page does not name the user.
    const named = session && services.sessions.isLiveForBrowser(session);
    sendPage(res, logoutConfirmPage(session ? { csrf: services.csrf.token(req, res), ...(named ? { username: session.user.username } : {}) } : undefined));
  });
  router.post('/logout', async (req, res) => {
    services.csrf.verify(req);
    const ended = await services.sessions.end(req, res, 'sso-logout');
    if (ended) await services.store.audit.record({ type: 'logout', outcome: 'success', userId: ended.user.id, username: ended.user.username, ip: req.clientIp, requestId: req.requestId });
    if (ended && propagate && (await propagate(req, res, ended))) return;
    if (ended) services.cookies.set(res, SIGNED_OUT_COOKIE, 'yes', { maxAgeSeconds: SIGNED_OUT_SECONDS });
    res.redirect(303, '/signed-out');
  });
  router.get('/signed-out', async (req, res) => {
    // Whatever brought the browser here, someone still signed in is shown that, and offered the sign-out.
    if (await services.sessions.toSignOut(req)) return res.redirect(303, '/logout');
    sendPage(res, signedOutPage({ sessionEnded: takeSignedOut(services, req, res) }));
  });
  return router;
}

function takeSignedOut(services: Services, req: Request, res: Response): boolean {
  const signedOut = services.cookies.read(req, SIGNED_OUT_COOKIE) === 'yes';
  if (signedOut) services.cookies.clear(res, SIGNED_OUT_COOKIE);
  return signedOut;
}

import { Router } from 'express';
import type { Services } from '../services.ts';
import { sendPage } from '../http/render.ts';
import { logoutConfirmPage } from '../../views/logout.ts';
import { signedOutPage } from '../../views/signed-out.ts';
import type { LogoutPropagation } from './logout-propagation.ts';

/** IdP-initiated logout: a confirmation page (so a cross-site link cannot sign anyone out) and the POST that ends the session. */
export function logoutRoutes(services: Services, propagate?: LogoutPropagation): Router {
  const router = Router();
  router.get('/logout', async (req, res) => {
    const session = await services.sessions.current(req);
    sendPage(res, logoutConfirmPage({ csrf: services.csrf.token(req, res), username: session?.user.username }));
  });
  router.post('/logout', async (req, res) => {
    services.csrf.verify(req);
    const ended = await services.sessions.end(req, res, 'sso-logout');
    if (ended) await services.store.audit.record({ type: 'logout', outcome: 'success', userId: ended.user.id, username: ended.user.username, ip: req.clientIp, requestId: req.requestId });
    if (ended && propagate && (await propagate(req, res, ended))) return;
    res.redirect(303, '/signed-out');
  });
  router.get('/signed-out', (_req, res) => {
    sendPage(res, signedOutPage({ sessionEnded: true }));
  });
  return router;
}

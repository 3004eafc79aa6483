import { Router } from 'express';
import type { Services } from '../services.ts';
import { sendPage } from '../http/render.ts';
import { bootstrapPage } from '../../views/admin/bootstrap.ts';
import { messagePage } from '../../views/message.ts';
import { GUESSED_BOOTSTRAP_SECRET, redeemBootstrapSecret } from './bootstrap.ts';
import { adminAccounts, createAdminAccount } from './admin-accounts.ts';
import { passwordProblems } from '../directory/password-rules.ts';
import { lockAuditFacts } from '../regulation/regulator.ts';

const ADMIN_PASSWORD_RULES = { minLength: 14, requireLetter: true, requireDigit: true, requireMixedCase: false, requireSpecial: false };

/** /admin/bootstrap: trades the one-time secret printed at first start for the first administrator account. */
export function bootstrapRoutes(services: Services): Router {
  const router = Router();
  const closed = () => messagePage({ title: 'Already set up', message: 'An administrator exists already. The bootstrap secret can be used only once.' });

  router.get('/admin/bootstrap', async (req, res) => {
    if ((await adminAccounts(services.store).list()).length > 0) return sendPage(res, closed(), 410);
    sendPage(res, bootstrapPage({ csrf: services.csrf.token(req, res) }));
  });

  router.post('/admin/bootstrap', async (req, res) => {
    services.csrf.verify(req);
    if ((await adminAccounts(services.store).list()).length > 0) return sendPage(res, closed(), 410);
    const field = (name: string) => (typeof req.body?.[name] === 'string' ? (req.body[name] as string) : '');
    const username = field('username').trim();
    const again = (error: string, status: number) => sendPage(res, bootstrapPage({ csrf: services.csrf.token(req, res), error, username }), status);
    if (!/^[A-Za-z0-9._@-]{3,64}$/.test(username)) return again('The username may use letters, digits and . _ @ - (3 to 64 characters).', 400);
    const problems = passwordProblems(ADMIN_PASSWORD_RULES, field('password'), username);
    if (problems.length) return again(`The password was refused. ${problems.join(' ')}`, 400);
    if (field('password') !== field('confirmPassword')) return again('The two passwords are not the same.', 400);
    const admission = await services.regulator.admit(GUESSED_BOOTSTRAP_SECRET, req.clientIp);
    if (!admission.allowed) return again('Too many wrong secrets from this address. Wait and try again.', 429);
    if (!(await redeemBootstrapSecret(services.store, field('secret'), services.clock.now()))) {
      const locks = await admission.attempt.failed();
      await services.store.audit.record({ type: 'admin.bootstrap', outcome: 'failure', ip: req.clientIp, requestId: req.requestId, reason: 'wrong-secret', ...lockAuditFacts(locks) });
      return again('That bootstrap secret is not valid.', 403);
    }
    await admission.attempt.succeeded();
    await createAdminAccount(services.store, username, field('password'), services.clock.now());
    await services.store.audit.record({ type: 'admin.bootstrap', outcome: 'success', username, ip: req.clientIp, requestId: req.requestId });
    sendPage(res, messagePage({ title: 'Administrator created', message: `The administrator ${username} was created. The bootstrap secret is now spent.` }));
  });
  return router;
}

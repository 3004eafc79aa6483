import { Router } from 'express';
import type { Services } from '../services.ts';
import { sendPage } from '../http/render.ts';
import { bootstrapPage, type BootstrapProblem } from '../../views/admin/bootstrap.ts';
import { messagePage } from '../../views/message.ts';
import { GUESSED_BOOTSTRAP_SECRET, redeemBootstrapSecret } from './bootstrap.ts';
import { adminAccounts, createAdminAccount } from './admin-accounts.ts';
import { passwordProblems, passwordRuleWords } from '../directory/password-rules.ts';
import { lockAuditFacts } from '../regulation/regulation.ts';
import { logRefusedAttempt } from '../http/refused-attempt-log.ts';

const ADMIN_PASSWORD_RULES = { minLength: 14, requireLetter: true, requireDigit: true, requireMixedCase: false, requireSpecial: false };
/** Shown before the password is typed; the last of passwordRuleWords is about earlier passwords, which a first account has none of. */
const ADMIN_PASSWORD_RULE_WORDS = passwordRuleWords(ADMIN_PASSWORD_RULES, 0).slice(0, -1);

/**
 * Every problem of the form at once, so that one send fixes them all. Not the secret's: it is checked
 * (and spent, when right) only once the rest is right.
 */
function formProblems(username: string, password: string, confirmPassword: string): BootstrapProblem[] {
  const problems: BootstrapProblem[] = [];
  if (!/^[A-Za-z0-9._@-]{3,64}$/.test(username)) problems.push({ field: 'username', message: 'The username may use letters, digits and . _ @ - (3 to 64 characters).' });
  const weak = passwordProblems(ADMIN_PASSWORD_RULES, password, username);
  if (weak.length) problems.push({ field: 'password', message: `The password was refused. ${weak.join(' ')}` });
  if (password !== confirmPassword) problems.push({ field: 'confirmPassword', message: 'The two passwords are not the same.' });
  return problems;
}

/** /admin/bootstrap: trades the one-time secret printed at first start for the first administrator account. */
export function bootstrapRoutes(services: Services): Router {
  const router = Router();
  const closed = () => messagePage({ title: 'Already set up', message: 'An administrator exists already. The bootstrap secret can be used only once.' });
  const spent = () => messagePage({ title: 'Secret already used', message: 'This bootstrap secret was used already, by another request: the administrator created with it is the first one. If no administrator was created, print a new secret with "npm run cli -- admin bootstrap-secret".' });

  router.get('/admin/bootstrap', async (req, res) => {
    if ((await adminAccounts(services.store).list()).length > 0) return sendPage(res, closed(), 410);
    sendPage(res, bootstrapPage({ csrf: services.csrf.token(req, res), passwordRules: ADMIN_PASSWORD_RULE_WORDS }));
  });

  router.post('/admin/bootstrap', async (req, res) => {
    services.csrf.verify(req);
    if ((await adminAccounts(services.store).list()).length > 0) {
      // A form sent after the first administrator exists: someone still trying the secret, or a second
      // administrator's form left open. Either is a refusal the log must show, as a wrong secret is.
      await services.store.audit.record({ type: 'admin.bootstrap', outcome: 'failure', ip: req.clientIp, requestId: req.requestId, reason: 'admin-exists' });
      logRefusedAttempt(req, { event: 'admin.bootstrap.refused', reason: 'admin-exists' }, 'admin bootstrap: refused, an administrator exists already');
      return sendPage(res, closed(), 410);
    }
    const field = (name: string) => (typeof req.body?.[name] === 'string' ? (req.body[name] as string) : '');
    const username = field('username').trim();
    const again = (problems: BootstrapProblem[], status: number) => sendPage(res, bootstrapPage({ csrf: services.csrf.token(req, res), passwordRules: ADMIN_PASSWORD_RULE_WORDS, problems, username }), status);
    const problems = formProblems(username, field('password'), field('confirmPassword'));
    if (problems.length) return again(problems, 400);
    const admission = await services.regulator.admit(GUESSED_BOOTSTRAP_SECRET, req.clientIp);
    if (!admission.allowed) {
      logRefusedAttempt(req, { event: 'admin.bootstrap.refused', reason: `rate-limited-${admission.scope}`, busy: admission.busy, lockedUntil: new Date(admission.until).toISOString() }, 'admin bootstrap: secret not checked, too many wrong ones from this address');
      return again([{ message: 'Too many wrong secrets were tried from this address. Wait and try again later, or print a new secret with "npm run cli -- admin bootstrap-secret", which clears the count.' }], 429);
    }
    const redemption = await redeemBootstrapSecret(services.store, field('secret'), services.clock.now());
    if (redemption === 'spent') {
      await admission.attempt.abandoned();
      await services.store.audit.record({ type: 'admin.bootstrap', outcome: 'failure', ip: req.clientIp, requestId: req.requestId, reason: 'secret-spent' });
      logRefusedAttempt(req, { event: 'admin.bootstrap.refused', reason: 'secret-spent' }, 'admin bootstrap: the secret was used already');
      return sendPage(res, spent(), 410);
    }
    if (redemption === 'wrong') {
      const locks = await admission.attempt.failed();
      await services.store.audit.record({ type: 'admin.bootstrap', outcome: 'failure', ip: req.clientIp, requestId: req.requestId, reason: 'wrong-secret', ...lockAuditFacts(locks) });
      logRefusedAttempt(req, { event: 'admin.bootstrap.refused', reason: 'wrong-secret', ...lockAuditFacts(locks) }, 'admin bootstrap: wrong secret');
      return again([{ field: 'secret', message: 'That bootstrap secret is not valid. Type it exactly as Stepgate printed it, or print a new one with "npm run cli -- admin bootstrap-secret".' }], 403);
    }
    await admission.attempt.succeeded();
    await createAdminAccount(services.store, username, field('password'), services.clock.now());
    await services.store.audit.record({ type: 'admin.bootstrap', outcome: 'success', username, ip: req.clientIp, requestId: req.requestId });
    req.log.info({ event: 'admin.bootstrap.created', username }, `admin bootstrap: the first administrator ${username} was created; the secret is spent`);
    sendPage(res, messagePage({ title: 'Administrator created', message: `The administrator ${username} was created. The bootstrap secret is now spent.`, outcome: true }));
  });
  return router;
}

import { Router, type Request, type Response } from 'express';
import type { PasswordStepDeps } from './steps/password.ts';
import { showPassword, submitPassword } from './steps/password.ts';
import { showChangePassword, submitChangePassword } from './steps/change-password.ts';
import { showMfaChallenge, submitMfaChallenge } from './steps/mfa-challenge.ts';
import { showMfaEnroll, submitMfaEnroll } from './steps/mfa-enroll.ts';
import { firstMethod } from './steps/mfa-guard.ts';
import { stepUrl } from './interaction.ts';
import { sendPage } from '../http/render.ts';
import { expiryWarningPage } from '../../views/login/expiry-warning.ts';
import { messagePage } from '../../views/message.ts';

/** /login/:tx/... — the pages of one sign-in transaction. */
export function loginRoutes(deps: PasswordStepDeps): Router {
  const router = Router();
  const { interaction } = deps;
  const { csrf, sessions } = interaction.deps;
  const load = (req: Request, res: Response) => interaction.load(req, res, String(req.params.tx));

  router.get('/login/:tx', async (req: Request, res: Response) => {
    const tx = await load(req, res);
    const session = await sessions.current(req);
    const step = await interaction.stepWith(req, tx, session);
    switch (step.kind) {
      case 'complete':
        return interaction.complete(res, tx, step.result);
      case 'password':
        return showPassword(req, res, deps, tx);
      case 'change-password':
        return showChangePassword(req, res, deps, tx);
      case 'expiry-warning':
        return sendPage(res, expiryWarningPage({ days: step.days, changeAction: stepUrl(tx, '/change-password'), continueAction: stepUrl(tx, '/continue'), csrf: csrf.token(req, res) }));
      // The flow asks for a second factor only when there is a session (the password comes first).
      case 'mfa-challenge':
        return showMfaChallenge(req, res, interaction, await interaction.bindMfa(tx, session!), session!, firstMethod(interaction, step.methods));
      case 'mfa-enroll':
        return showMfaEnroll(req, res, interaction, await interaction.bindMfa(tx, session!), session!, firstMethod(interaction, step.methods));
      case 'denied':
        await interaction.deps.audit.record({ type: 'login.policy', outcome: 'failure', rp: tx.request.rpId, userId: session?.user.id, username: session?.user.username, ip: req.clientIp, requestId: req.requestId, policy: step.policy, rule: step.rule, reason: step.message });
        return sendPage(res, messagePage({ title: 'Access denied', message: step.message, link: { href: stepUrl(tx, '/back'), label: `Back to ${tx.request.rpName}` } }), 403);
    }
  });

  router.post('/login/:tx/password', async (req, res) => {
    csrf.verify(req);
    await submitPassword(req, res, deps, await load(req, res));
  });

  router.get('/login/:tx/change-password', async (req, res) => {
    showChangePassword(req, res, deps, await load(req, res));
  });

  router.post('/login/:tx/change-password', async (req, res) => {
    csrf.verify(req);
    await submitChangePassword(req, res, deps, await load(req, res));
  });

  router.post('/login/:tx/continue', async (req, res) => {
    csrf.verify(req);
    const tx = await load(req, res);
    const updated = { ...tx, pendingExpiryWarning: undefined };
    await interaction.deps.transactions.save(updated);
    await interaction.advance(req, res, updated);
  });

  router.post('/login/:tx/mfa/:method', async (req, res) => {
    csrf.verify(req);
    await submitMfaChallenge(req, res, interaction, await load(req, res), String(req.params.method));
  });

  router.post('/login/:tx/mfa/:method/enroll', async (req, res) => {
    csrf.verify(req);
    await submitMfaEnroll(req, res, interaction, await load(req, res), String(req.params.method));
  });

  // From the "access denied" page: hands the refusal to the application. Only a refusal the flow still
  // decides now can be handed back; otherwise the sign-in simply goes on.
  router.get('/login/:tx/back', async (req, res) => {
    const tx = await load(req, res);
    const step = await interaction.step(req, tx);
    if (step.kind === 'denied') await interaction.complete(res, tx, step.result);
    else res.redirect(303, stepUrl(tx));
  });

  return router;
}

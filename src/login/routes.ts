import { Router, type Request, type Response } from 'express';
import type { PasswordStepDeps } from './steps/password.ts';
import { showPassword, submitPassword } from './steps/password.ts';
import { showChangePassword, submitChangePassword } from './steps/change-password.ts';
import { stepUrl } from './interaction.ts';
import { sendPage } from '../http/render.ts';
import { expiryWarningPage } from '../../views/login/expiry-warning.ts';

/** /login/:tx/... — the pages of one sign-in transaction. */
export function loginRoutes(deps: PasswordStepDeps): Router {
  const router = Router();
  const { interaction } = deps;
  const csrf = interaction.deps.csrf;

  router.get('/login/:tx', async (req: Request, res: Response) => {
    const tx = await interaction.load(req, res, String(req.params.tx));
    const step = await interaction.step(req, tx);
    switch (step.kind) {
      case 'complete':
        return interaction.complete(res, tx, step.result);
      case 'password':
        return showPassword(req, res, deps, tx);
      case 'change-password':
        return showChangePassword(req, res, deps, tx);
      case 'expiry-warning':
        return sendPage(res, expiryWarningPage({ days: step.days, changeAction: stepUrl(tx, '/change-password'), continueAction: stepUrl(tx, '/continue'), csrf: csrf.token(req, res) }));
    }
  });

  router.post('/login/:tx/password', async (req, res) => {
    csrf.verify(req);
    await submitPassword(req, res, deps, await interaction.load(req, res, String(req.params.tx)));
  });

  router.get('/login/:tx/change-password', async (req, res) => {
    showChangePassword(req, res, deps, await interaction.load(req, res, String(req.params.tx)));
  });

  router.post('/login/:tx/change-password', async (req, res) => {
    csrf.verify(req);
    await submitChangePassword(req, res, deps, await interaction.load(req, res, String(req.params.tx)));
  });

  router.post('/login/:tx/continue', async (req, res) => {
    csrf.verify(req);
    const tx = await interaction.load(req, res, String(req.params.tx));
    const updated = { ...tx, pendingExpiryWarning: undefined };
    await interaction.deps.transactions.save(updated);
    await interaction.advance(req, res, updated);
  });

  return router;
}

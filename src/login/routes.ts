import { Router, type Request, type Response } from 'express';
import { submitPassword, type PasswordStepDeps } from './steps/password.ts';
import { submitMfaChallenge } from './steps/mfa-challenge.ts';
import { submitMfaEnroll } from './steps/mfa-enroll.ts';
import { showChangePassword, submitChangePassword } from './steps/change-password.ts';
import { stepUrl } from './step-url.ts';

/** /login/:tx/... — the pages of one sign-in transaction. */
export function loginRoutes(deps: PasswordStepDeps): Router {
  const router = Router();
  const { interaction } = deps;
  const { csrf, sessions } = interaction.deps;
  const load = (req: Request, res: Response) => interaction.load(req, res, String(req.params.tx));

  // Every step's form answers with a redirect here (Post/Redirect/Get): this shows the current step.
  router.get('/login/:tx', async (req: Request, res: Response) => {
    await interaction.advance(req, res, await load(req, res));
  });

  router.post('/login/:tx/password', async (req, res) => {
    csrf.verify(req);
    await submitPassword(req, res, deps, await load(req, res));
  });

  router.get('/login/:tx/change-password', async (req, res) => {
    showChangePassword(req, res, interaction, await load(req, res));
  });

  router.post('/login/:tx/change-password', async (req, res) => {
    csrf.verify(req);
    await submitChangePassword(req, res, deps, await load(req, res));
  });

  // From the expiry warning and from the backup codes: both have been seen.
  router.post('/login/:tx/continue', async (req, res) => {
    csrf.verify(req);
    const tx = await load(req, res);
    const updated = { ...tx, pendingExpiryWarning: undefined, pendingBackupCodes: undefined };
    await interaction.deps.transactions.save(updated);
    await interaction.proceed(req, res, updated, await sessions.current(req));
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
    if (step.kind === 'denied') await interaction.complete(req, res, tx, step.result);
    else res.redirect(303, stepUrl(tx));
  });

  return router;
}

import { Router, type Request, type Response } from 'express';
import { submitPassword, type PasswordStepDeps } from './steps/password.ts';
import { submitMfaChallenge } from './steps/mfa-challenge.ts';
import { forgetShownSetup, submitMfaEnroll } from './steps/mfa-enroll.ts';
import { AppError } from '../core/errors.ts';
import { SETUP_EXPIRED_ADVICE } from '../../views/mfa/messages.ts';
import { showChangePassword, submitChangePassword } from './steps/change-password.ts';
import { switchAccount } from './steps/switch-account.ts';
import { showAnswerForAnotherUser } from './steps/answer-for-another-user.ts';
import { stepUrl } from './step-url.ts';
import type { LoginTransaction } from './transaction.ts';
import type { LogoutPropagation } from '../session/logout-propagation.ts';

/**
 * /login/:tx/... — the pages of one sign-in transaction. `propagateLogout`: how a "Not you?" sign-out
 * tells the previous user's SAML SPs through the browser, as /logout does.
 */
export function loginRoutes(deps: PasswordStepDeps, propagateLogout?: LogoutPropagation): Router {
  const router = Router();
  const { interaction } = deps;
  const { csrf, sessions } = interaction.deps;
  // Pages and forms of one transaction take turns (see LoginInteraction.withTransaction).
  const page = (req: Request, res: Response, work: (tx: LoginTransaction) => Promise<void>) => interaction.withTransaction(req, res, String(req.params.tx), work);
  // A form of a sign-in that ran out in this browser is answered, as any refused form, with a redirect
  // to a page that says so (Post/Redirect/Get): Back to it never asks to send the form again.
  // `afterExpiry`: what that form leaves to be told, as the suffix of the page that tells it.
  const form = async (req: Request, res: Response, step: (tx: LoginTransaction) => Promise<void>, afterExpiry?: () => Promise<string>) => {
    csrf.verify(req);
    const id = String(req.params.tx);
    try {
      await interaction.takeStep(req, res, id, step);
    } catch (error) {
      if (!ranOutHere(error) || res.headersSent) throw error;
      res.redirect(303, stepUrl({ id }, (await afterExpiry?.()) ?? ''));
    }
  };

  // Every step's form answers with a redirect here (Post/Redirect/Get): this shows the current step.
  router.get('/login/:tx', async (req: Request, res: Response) => {
    await page(req, res, (tx) => interaction.advance(req, res, tx));
  });

  router.post('/login/:tx/password', async (req, res) => {
    await form(req, res, (tx) => submitPassword(req, res, deps, tx));
  });

  router.get('/login/:tx/change-password', async (req, res) => {
    await page(req, res, async (tx) => showChangePassword(req, res, interaction, tx, await interaction.refusalFor(tx, 'change-password')));
  });

  router.post('/login/:tx/change-password', async (req, res) => {
    await form(req, res, (tx) => submitChangePassword(req, res, deps, tx));
  });

  // From the expiry warning, the backup codes and the notice of a backup code used: each has been seen.
  router.post('/login/:tx/continue', async (req, res) => {
    await form(req, res, async (tx) => {
      const updated = { ...tx, pendingExpiryWarning: undefined, pendingBackupCodes: undefined, pendingBackupCodeNotice: undefined };
      await interaction.deps.transactions.save(updated);
      await interaction.proceed(req, res, updated, await sessions.current(req));
    });
  });

  router.post('/login/:tx/cancel', async (req, res) => {
    await form(req, res, (tx) => interaction.cancel(req, res, tx));
  });

  router.post('/login/:tx/mfa/:method', async (req, res) => {
    await form(req, res, (tx) => submitMfaChallenge(req, res, interaction, tx, String(req.params.method)));
  });

  router.post('/login/:tx/mfa/:method/enroll', async (req, res) => {
    // The sign-in ran out while its setup was open (an expiry its own browser is told about): the
    // secret it showed is dropped, so the entry just added to the app is surely useless (its codes
    // would later count as wrong ones) and the next sign-in shows a new one. The page says so.
    await form(req, res, (tx) => submitMfaEnroll(req, res, interaction, tx, String(req.params.method)), async () => {
      await forgetShownSetup(req, interaction, String(req.params.method));
      return '/setup-expired';
    });
  });

  // Where a setup form sent after the sign-in ran out is answered: the expiry, and what to do with the app's entry.
  router.get('/login/:tx/setup-expired', async (req, res) => {
    await page(req, res, async (tx) => res.redirect(303, stepUrl(tx))).catch((error: unknown) => {
      if (!ranOutHere(error)) throw error;
      throw new AppError('TRANSACTION_UNKNOWN', { userMessage: `${error.userMessage} ${SETUP_EXPIRED_ADVICE}`, detail: error.detail, cause: error });
    });
  });

  // Where a code or setup form sent after another person signed in on this browser is answered, while that is so.
  router.get('/login/:tx/another-user', async (req, res) => {
    await page(req, res, async (tx) => {
      const session = await sessions.current(req);
      if (session && tx.mfa && tx.mfa.userId !== session.user.id) return showAnswerForAnotherUser(res, tx, session, req.query.setup === undefined ? 'mfa-challenge' : 'mfa-enroll');
      res.redirect(303, stepUrl(tx));
    });
  });

  // From the "access denied" page: hands the refusal to the application (LoginInteraction.goBack).
  router.get('/login/:tx/back', async (req, res) => {
    await page(req, res, (tx) => interaction.goBack(req, res, tx));
  });

  // "Not you? Sign in as someone else" on the code and setup pages, and where the password is asked again before a setup.
  router.post('/login/:tx/switch-account', async (req, res) => {
    await form(req, res, (tx) => switchAccount(req, res, interaction, tx, propagateLogout));
  });

  return router;
}

/** The sign-in ran out, told so in its own browser (TransactionBinding): not finished, nor another browser's. */
function ranOutHere(error: unknown): error is AppError {
  return error instanceof AppError && error.code === 'TRANSACTION_UNKNOWN' && error.detail?.reason === 'expired';
}

import { Router, type Request, type Response } from 'express';
import type { Services } from '../services.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { LoginRequest } from '../core/types.ts';
import type { MfaRegistry } from '../mfa/registry.ts';
import type { MfaMethod } from '../mfa/mfa-method.ts';
import { AppError } from '../core/errors.ts';
import { sendPage } from '../http/render.ts';
import { maySetUpSecondFactor } from '../mfa/enrollment-networks.ts';
import { auditSetup, confirmMfaSetup, enrollmentOf, shownSecret } from '../login/steps/mfa-setup.ts';
import { AccountAccess, ACCOUNT_FINISHER, ACCOUNT_RP_ID, accountChangesEndAt, accountLoginRequest, secondFactorLoginRequest } from './account-access.ts';
import { securityPage } from '../../views/account/security.ts';
import { totpEnrollPage } from '../../views/mfa/totp-enroll.ts';
import { backupCodesPage } from '../../views/mfa/backup-codes.ts';
import { CONFIRM_FIELD, newBackupCodesPage } from '../../views/account/new-backup-codes.ts';
import { setupTimeLimitMessage, SETUP_TIME_RAN_OUT_NOTICE } from '../../views/mfa/messages.ts';
import type { CodeProblem } from '../mfa/code-problem.ts';
import { messagePage } from '../../views/message.ts';
import { setupElsewherePage } from '../../views/mfa/setup-elsewhere.ts';
import { CHANGE_ON_SECURITY_PATH, SIGN_IN_FIELD } from '../login/account-messages.ts';
import { stepUrl } from '../login/step-url.ts';
import type { PasswordChangeHandovers } from './password-change-handover.ts';

const HOME = '/account/security';
const SHOWN_CODES = `${HOME}/backup-codes`;
/** Asks before new backup codes are made (the POST to SHOWN_CODES makes them). */
const NEW_CODES = `${HOME}/backup-codes/new`;
const SETUP = `${HOME}/totp`;
const REPLACE = `${HOME}/totp/replace`;
/** After a password change handed over from an application's refusal page: go back there and sign in again. */
const PASSWORD_CHANGED = `${HOME}/password-changed`;
/**
 * Where a sign-in through the account policy leads back to (its handoff ref). A setup's code sent
 * after the grant ended leads back to the setup, marked AGAIN: the new sign-in shows a new secret,
 * and the entry added for the old one must go.
 */
const AGAIN = 'again';
const RETURN_TO = { setup: SETUP, replace: REPLACE, 'new-codes': NEW_CODES, 'setup-again': `${SETUP}?${AGAIN}`, 'replace-again': `${REPLACE}?${AGAIN}`, 'password-changed': PASSWORD_CHANGED } as const;
type ReturnTo = keyof typeof RETURN_TO;
/** What a move to a new authenticator is asked under besides the account policy; leads back to the move. */
const replaceRequest = () => secondFactorLoginRequest('replace');
/**
 * The same for new backup codes: they are a second factor too, so with the password alone (an account
 * policy that asks no code, e.g. from a trusted network) whoever has it could make ten of their own.
 */
const newCodesRequest = () => secondFactorLoginRequest('new-codes');
/**
 * Backup codes just made, shown again on a reload for a few minutes (not dropped when the settings page
 * is opened: a second click's answer may open it before the first click's codes are shown). Memory only.
 */
const SHOWN_CODES_NAMESPACE = 'account-backup-codes';
const SHOWN_CODES_SECONDS = 10 * 60;

/** The method this page sets up and moves to a new phone. */
function authenticatorApp(registry: MfaRegistry): MfaMethod {
  const method = registry.get('totp');
  if (!method) throw new Error('the "my security" page sets up the totp method, and the registry has none');
  return method;
}

/**
 * "My security": TOTP status, self-enrollment, backup codes. Reached through the account policy. The
 * status and the backup codes are the authenticator app's own (TotpAdmin, BackupCodes); its setup goes
 * through the MfaMethod seam, as during a sign-in.
 */
export function accountRoutes(services: Services, passwordChanges: PasswordChangeHandovers): Router {
  const router = Router();
  const { csrf, sessions, interaction, clock, config } = services;
  const { registry, totpAdmin, backupCodes } = services.mfa;
  const app = authenticatorApp(registry);
  const access = new AccountAccess(services.store.kv, sessions, registry, services.clock);

  /**
   * The granted session, or undefined after sending the browser through the sign-in. The grant alone
   * is not enough: like any reuse of a session, each request asks the directory and the account
   * policy again, so an account disabled or moved out of the policy's groups after the sign-in
   * cannot set up or read second factors for the rest of the grant.
   */
  async function granted(req: Request, res: Response, returnTo?: ReturnTo): Promise<SsoSession | undefined> {
    const request = accountLoginRequest(config.policies.account, returnTo);
    const session = await access.session(req);
    const step = session && (await interaction.preview(req, request, session));
    // The session as that check left it: its user replaced by the directory's current answer.
    if (step?.kind === 'complete' && step.result.ok) return sessions.current(req);
    // A setup's code sent after its time ran out: the secret shown is forgotten, so the setup this leads
    // back to shows a new one, as its page then says (AGAIN).
    const current = returnTo?.endsWith('-again') && (await sessions.current(req));
    if (current) await enrollmentOf(app).forget({ user: current.user, sessionId: current.id });
    await interaction.start(req, res, request);
    return undefined;
  }

  /**
   * False after answering with the "not from here" page: a user's first second factor, and a move to a
   * new authenticator, are set up only from `mfa.enrollment.networks`. Asked for the form's POST too,
   * not only for the page that shows it.
   */
  async function setupAllowedHere(req: Request, res: Response, session: SsoSession, replacing: boolean): Promise<boolean> {
    const enrolledMethods = await registry.enrolledMethods(session.user);
    if (maySetUpSecondFactor({ enrolledMethods, ip: req.clientIp, enrollmentNetworks: config.mfa.enrollment.networks, networks: services.networks, replacing })) return true;
    await auditSetup(req, services.store.audit, { session, method: app, rpId: ACCOUNT_RP_ID, replacing }, 'failure', 'outside-enrollment-networks');
    sendPage(res, setupElsewherePage({ back: { href: HOME, label: 'Back to my security settings' }, helpdesk: config.messages.helpdesk }), 403);
    return false;
  }

  /**
   * False after sending the browser on: a setup is due only while the user has no app set up (a second
   * click or another browser may have set it up: a new secret shown now could never be confirmed), a
   * move only while they have one (an administrator may have reset it), and only from where it may be.
   */
  async function setupDue(req: Request, res: Response, session: SsoSession, replacing: boolean): Promise<boolean> {
    if ((await app.isEnrolled(session.user)) === replacing) return setupAllowedHere(req, res, session, replacing);
    res.redirect(303, HOME);
    return false;
  }

  /**
   * Whether this sign-in may move the user's app to a new phone, or make new backup codes (`request`):
   * the flow decides, as `granted` has it decide the account policy (secondFactorLoginRequest says what is needed).
   */
  async function mayChangeSecondFactor(req: Request, session: SsoSession, request: LoginRequest): Promise<boolean> {
    const step = await interaction.preview(req, request, session);
    return step.kind === 'complete' && step.result.ok;
  }

  /** `replacing`: the user moves their registration to a new authenticator (see MfaEnrollment). */
  async function showEnroll(req: Request, res: Response, session: SsoSession, replacing: boolean, problem?: CodeProblem): Promise<void> {
    const secret = await shownSecret(app, { user: session.user, sessionId: session.id }, problem);
    const page = totpEnrollPage({
      action: replacing ? REPLACE : SETUP,
      csrf: csrf.token(req, res),
      reason: replacing
        ? 'Set up the authenticator app on your new phone. Your current app keeps working until you enter a code from the new one.'
        : 'With an authenticator app, signing in needs your password and a code from your phone.',
      // Nothing is sent while the app is set up: an idle timeout shorter than the grant ends the session first.
      timeLimit: setupTimeLimitMessage(Math.min(accountChangesEndAt(session, replacing), sessions.liveForBrowserUntil(session)) - clock.now()),
      ...secret,
      notice: !problem && req.query[AGAIN] !== undefined ? SETUP_TIME_RAN_OUT_NOTICE : secret.notice,
    });
    sendPage(res, page, problem ? 400 : 200);
  }

  /** The code from the new app: the app is set up (or moved), the code counts in this sign-in, and the new backup codes are shown. */
  async function confirmSetup(req: Request, res: Response, session: SsoSession, replacing: boolean): Promise<void> {
    const result = await confirmMfaSetup(req, { audit: services.store.audit, sessions, clock }, { session, method: app, rpId: ACCOUNT_RP_ID, replacing });
    if (!result.ok) {
      // Overtaken: a setup by another browser or a second click; for a move, an administrator's reset or a move confirmed in another browser.
      const overtaken = replacing ? result.reason === 'expired' : await app.isEnrolled(session.user);
      return overtaken ? res.redirect(303, HOME) : showEnroll(req, res, session, replacing, result.reason);
    }
    await access.grant(result.session);
    const notice = replacing ? 'Your new authenticator app is set up. Codes from the old one no longer work, nor do your old backup codes.' : 'Your authenticator app is set up.';
    await showCodes(res, result.session, { codes: result.backupCodes, notice });
  }

  /**
   * New backup codes are shown by a GET after the POST that made them (Post/Redirect/Get): a reload
   * shows the same codes again instead of making a new set, which would void the set just written down.
   */
  async function showCodes(res: Response, session: SsoSession, shown: { codes: string[]; notice: string }): Promise<void> {
    await services.store.kv.set(SHOWN_CODES_NAMESPACE, session.id, shown, { ttlSeconds: SHOWN_CODES_SECONDS, durable: false });
    res.redirect(303, SHOWN_CODES);
  }

  router.get(SHOWN_CODES, async (req, res) => {
    const session = await granted(req, res);
    if (!session) return;
    const shown = await services.store.kv.get<{ codes: string[]; notice: string }>(SHOWN_CODES_NAMESPACE, session.id);
    if (!shown) return res.redirect(303, HOME);
    sendPage(res, backupCodesPage({ ...shown, next: { href: HOME, label: 'Back to my security settings' } }));
  });

  router.get(HOME, async (req, res) => {
    const session = await granted(req, res);
    if (!session) return;
    const status = await totpAdmin.statusOf(session.user);
    sendPage(res, securityPage({ status, now: clock.now(), enrollHref: SETUP, replaceHref: REPLACE, newCodesHref: NEW_CODES }));
  });

  interaction.registerFinisher(ACCOUNT_FINISHER, async (_req, res, { txId, result, request }) => {
    if (!result.ok) return sendPage(res, messagePage({ title: 'Access denied', message: result.message, helpdesk: services.config.messages.helpdesk }), 403);
    const session = await sessions.byId(result.sessionId);
    if (!session) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'session-ended' } });
    await access.grant(session);
    await passwordChanges.changed(txId, session.id);
    res.redirect(303, RETURN_TO[request.handoff.ref as ReturnTo] ?? HOME);
  }, undefined, { cancellable: false }); // Stepgate's own page: there is no application to go back to.

  /**
   * The refusal page of a password to change at an application that does not take the change: this
   * browser's sign-in there proved the account (and on OpenLDAP holds the grace sign-in's bind), so
   * "My security" starts at the change form, without a second sign-in (PasswordChangeHandovers).
   * Another browser, or one whose time ran out, signs in here as usual.
   */
  router.post(CHANGE_ON_SECURITY_PATH, async (req, res) => {
    csrf.verify(req);
    const signInTxId = typeof req.body?.[SIGN_IN_FIELD] === 'string' ? (req.body[SIGN_IN_FIELD] as string) : '';
    const taken = await passwordChanges.take(signInTxId, services.browserBinding.existing(req), async (change) => {
      const tx = await interaction.open(req, res, accountLoginRequest(config.policies.account, 'password-changed'));
      await interaction.deps.transactions.save({ ...tx, pendingPasswordChange: change });
      return tx.id;
    });
    if (!taken) {
      req.log.info({ event: 'account.password-change.handover', taken: false }, 'account: no password change to take over from that sign-in in this browser; signing in here');
      return res.redirect(303, HOME);
    }
    if (taken.fresh) req.log.info({ event: 'account.password-change.handover', taken: true, tx: taken.txId.slice(0, 8) }, "account: the password change goes on from an application's sign-in");
    res.redirect(303, stepUrl({ id: taken.txId }));
  });

  router.get(PASSWORD_CHANGED, async (req, res) => {
    const session = await granted(req, res);
    if (!session) return;
    const changedFor = await passwordChanges.changedFor(session.id);
    if (!changedFor) return res.redirect(303, HOME);
    const signIn = await interaction.binding.openInThisBrowser(req, changedFor.signInTxId);
    const message = `Your password has been changed. Go back to ${changedFor.rpName} and sign in again with your new password.`;
    sendPage(res, messagePage({ title: 'Password changed', message, outcome: true, wayBack: signIn && interaction.wayBack(req, res, signIn), link: { href: HOME, label: 'Go to my security settings' } }));
  });

  router.get(SETUP, async (req, res) => {
    const session = await granted(req, res, 'setup');
    if (session && (await setupDue(req, res, session, false))) await showEnroll(req, res, session, false);
  });

  router.post(SETUP, async (req, res) => {
    csrf.verify(req);
    const session = await granted(req, res, 'setup-again');
    if (session && (await setupDue(req, res, session, false))) await confirmSetup(req, res, session, false);
  });

  /**
   * A new phone: the user moves their registration to a new authenticator themselves, with a code from
   * the old one (or a backup code) proved in this sign-in within the grant's time; asked for now when
   * there is none. No helpdesk reset, and no window in which the account has no second factor.
   */
  router.get(REPLACE, async (req, res) => {
    const session = await granted(req, res, 'replace');
    if (!session || !(await setupDue(req, res, session, true))) return;
    if (!(await mayChangeSecondFactor(req, session, replaceRequest()))) return interaction.start(req, res, replaceRequest());
    await showEnroll(req, res, session, true);
  });

  router.post(REPLACE, async (req, res) => {
    csrf.verify(req);
    const session = await granted(req, res, 'replace-again');
    if (!session || !(await setupDue(req, res, session, true))) return;
    // The code proved in this sign-in has grown too old while the page was open: asked again first.
    if (!(await mayChangeSecondFactor(req, session, replaceRequest()))) return res.redirect(303, REPLACE);
    await confirmSetup(req, res, session, true);
  });

  router.get(NEW_CODES, async (req, res) => {
    const session = await granted(req, res, 'new-codes');
    if (!session) return;
    if (!(await app.isEnrolled(session.user))) return res.redirect(303, HOME);
    if (!(await mayChangeSecondFactor(req, session, newCodesRequest()))) return interaction.start(req, res, newCodesRequest());
    const codesLeft = await backupCodes.remaining(session.user.id);
    sendPage(res, newBackupCodesPage({ codesLeft, action: SHOWN_CODES, csrf: csrf.token(req, res), back: { href: HOME, label: 'Keep my current codes' } }));
  });

  router.post(SHOWN_CODES, async (req, res) => {
    csrf.verify(req);
    const session = await granted(req, res);
    if (!session) return;
    if (!(await app.isEnrolled(session.user))) return res.redirect(303, HOME);
    // The code proved in this sign-in has grown too old while the page was open: asked again first.
    if (!(await mayChangeSecondFactor(req, session, newCodesRequest()))) return res.redirect(303, NEW_CODES);
    // Only from the page that said what it voids.
    if (req.body?.[CONFIRM_FIELD] !== 'yes') return res.redirect(303, NEW_CODES);
    const codes = await backupCodes.regenerate(session.user.id, config.mfa.totp.backupCodes, clock.now());
    await services.store.audit.record({ type: 'mfa.backup-codes.regenerate', outcome: 'success', method: app.id, rp: ACCOUNT_RP_ID, userId: session.user.id, username: session.user.username, ip: req.clientIp, requestId: req.requestId });
    await showCodes(res, session, { codes, notice: 'New backup codes were made; the old ones no longer work.' });
  });

  return router;
}

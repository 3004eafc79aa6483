import { Router, type Request, type Response } from 'express';
import type { Services } from '../services.ts';
import type { SsoSession } from '../session/sso-session.ts';
import { BUILT_IN_POLICIES } from '../policy/templates.ts';
import { AppError } from '../core/errors.ts';
import { sendPage } from '../http/render.ts';
import { qrCodeDataUri } from '../mfa/qr-code.ts';
import { maySetUpSecondFactor } from '../mfa/enrollment-networks.ts';
import { AccountAccess, ACCOUNT_FINISHER, ACCOUNT_RP_ID, accountChangesEndAt, accountLoginRequest, provedSecondFactorRecently } from './account-access.ts';
import { securityPage } from '../../views/account/security.ts';
import { totpEnrollPage } from '../../views/mfa/totp-enroll.ts';
import { backupCodesPage } from '../../views/mfa/backup-codes.ts';
import { CONFIRM_FIELD, newBackupCodesPage } from '../../views/account/new-backup-codes.ts';
import { codeProblemMessage, setupTimeLimitMessage, SETUP_TIME_RAN_OUT_NOTICE, type CodeProblem } from '../../views/mfa/messages.ts';
import { messagePage } from '../../views/message.ts';
import { setupElsewherePage } from '../../views/mfa/setup-elsewhere.ts';

const HOME = '/account/security';
const SHOWN_CODES = `${HOME}/backup-codes`;
/** Asks before new backup codes are made (the POST to SHOWN_CODES makes them). */
const NEW_CODES = `${HOME}/backup-codes/new`;
const SETUP = `${HOME}/totp`;
const REPLACE = `${HOME}/totp/replace`;
/**
 * Where a sign-in through the account policy leads back to (its handoff ref). A setup's code sent
 * after the grant ended leads back to the setup, marked AGAIN: the new sign-in shows a new secret,
 * and the entry added for the old one must go.
 */
const AGAIN = 'again';
const RETURN_TO: Readonly<Record<string, string>> = { replace: REPLACE, 'setup-again': `${SETUP}?${AGAIN}`, 'replace-again': `${REPLACE}?${AGAIN}` };
/**
 * The policy a replacement's code is asked under when this sign-in proved none recently: one of the
 * built-in policies (templates.ts BUILT_IN_POLICIES), whose names an administrator cannot redefine.
 */
const SECOND_FACTOR_POLICY = BUILT_IN_POLICIES.find((policy) => policy.name === 'permit-everyone-require-mfa')!.name;
/**
 * Backup codes just made, shown again on a reload for a few minutes (not dropped when the settings page
 * is opened: a second click's answer may open it before the first click's codes are shown). Memory only.
 */
const SHOWN_CODES_NAMESPACE = 'account-backup-codes';
const SHOWN_CODES_SECONDS = 10 * 60;

/** "My security": TOTP status, self-enrollment, backup codes. Reached through the account policy. */
export function accountRoutes(services: Services): Router {
  const router = Router();
  const { csrf, sessions, interaction, clock, config } = services;
  const { totp, totpAdmin } = services.mfa;
  const access = new AccountAccess(services.store.kv, sessions, services.mfa.registry, services.clock);
  const audit = (req: Request, session: SsoSession, type: string, outcome: 'success' | 'failure', reason?: string) =>
    services.store.audit.record({ type, outcome, reason, rp: ACCOUNT_RP_ID, userId: session.user.id, username: session.user.username, ip: req.clientIp, requestId: req.requestId, method: 'totp' });

  /**
   * The granted session, or undefined after sending the browser through the sign-in. The grant alone
   * is not enough: like any reuse of a session, each request asks the directory and the account
   * policy again, so an account disabled or moved out of the policy's groups after the sign-in
   * cannot set up or read second factors for the rest of the grant.
   */
  async function granted(req: Request, res: Response, returnTo?: 'setup-again' | 'replace-again'): Promise<SsoSession | undefined> {
    const request = accountLoginRequest(config.policies.account, returnTo);
    const session = await access.session(req);
    const step = session && (await interaction.preview(req, request, session));
    // The session as that check left it: its user replaced by the directory's current answer.
    if (step?.kind === 'complete' && step.result.ok) return sessions.current(req);
    // A setup's code sent after its time ran out: the secret shown is forgotten, so the setup this leads
    // back to shows a new one, as its page then says (AGAIN).
    const current = returnTo && (await sessions.current(req));
    if (current) await totp.enrollment.forget({ user: current.user, sessionId: current.id });
    await interaction.start(req, res, request);
    return undefined;
  }

  /**
   * False after answering with the "not from here" page: a user's first second factor, and a move to a
   * new authenticator, are set up only from `mfa.enrollment.networks`. Asked for the form's POST too,
   * not only for the page that shows it.
   */
  async function setupAllowedHere(req: Request, res: Response, session: SsoSession, replacing = false): Promise<boolean> {
    const enrolledMethods = await services.mfa.registry.enrolledMethods(session.user);
    if (maySetUpSecondFactor({ enrolledMethods, ip: req.clientIp, enrollmentNetworks: config.mfa.enrollment.networks, networks: services.networks, replacing })) return true;
    await audit(req, session, replacing ? 'mfa.replace' : 'mfa.enroll', 'failure', 'outside-enrollment-networks');
    sendPage(res, setupElsewherePage({ back: { href: HOME, label: 'Back to my security settings' }, helpdesk: config.messages.helpdesk }), 403);
    return false;
  }

  /** `replacing`: the user moves their registration to a new authenticator (see MfaEnrollment). */
  async function showEnroll(req: Request, res: Response, session: SsoSession, problem?: CodeProblem, replacing = false): Promise<void> {
    const view = await totp.enrollment.begin({ user: session.user, sessionId: session.id });
    const page = totpEnrollPage({
      action: replacing ? REPLACE : SETUP,
      csrf: csrf.token(req, res),
      reason: replacing
        ? 'Set up the authenticator app on your new phone. Your current app keeps working until you enter a code from the new one.'
        : 'With an authenticator app, signing in needs your password and a code from your phone.',
      timeLimit: setupTimeLimitMessage(accountChangesEndAt(session, replacing) - clock.now()),
      notice: !problem && req.query[AGAIN] !== undefined ? SETUP_TIME_RAN_OUT_NOTICE : undefined,
      secret: view.secret,
      uri: view.uri,
      qrDataUri: await qrCodeDataUri(view.uri),
      digits: view.digits,
      periodSeconds: view.periodSeconds,
      algorithm: view.algorithm,
      error: problem && codeProblemMessage(problem, view.digits, { backupCodesAccepted: false }),
    });
    sendPage(res, page, problem ? 400 : 200);
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

  interaction.registerFinisher(ACCOUNT_FINISHER, async (_req, res, { result, request }) => {
    if (!result.ok) return sendPage(res, messagePage({ title: 'Access denied', message: result.message, helpdesk: services.config.messages.helpdesk }), 403);
    const session = await sessions.byId(result.sessionId);
    if (!session) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'session-ended' } });
    await access.grant(session);
    res.redirect(303, RETURN_TO[request.handoff.ref] ?? HOME);
  }, undefined, { cancellable: false }); // Stepgate's own page: there is no application to go back to.

  router.get(SETUP, async (req, res) => {
    const session = await granted(req, res);
    if (!session) return;
    if (await totp.isEnrolled(session.user)) return res.redirect(303, HOME);
    if (!(await setupAllowedHere(req, res, session))) return;
    await showEnroll(req, res, session);
  });

  router.post(SETUP, async (req, res) => {
    csrf.verify(req);
    const session = await granted(req, res, 'setup-again');
    if (!session) return;
    // Set up meanwhile (a second click, another browser): a new secret shown now could never be confirmed.
    if (await totp.isEnrolled(session.user)) return res.redirect(303, HOME);
    if (!(await setupAllowedHere(req, res, session))) return;
    const result = await totp.enrollment.finish({ user: session.user, sessionId: session.id, ip: req.clientIp }, req.body?.code);
    await audit(req, session, 'mfa.enroll', result.ok ? 'success' : 'failure', result.ok ? undefined : result.reason);
    if (!result.ok) return (await totp.isEnrolled(session.user)) ? res.redirect(303, HOME) : showEnroll(req, res, session, result.reason);
    const stepped = await sessions.addFactor(session, { method: result.amr, at: clock.now() });
    await access.grant(stepped);
    await showCodes(res, stepped, { codes: result.backupCodes, notice: 'Your authenticator app is set up.' });
  });

  /**
   * A new phone: the user moves their registration to a new authenticator themselves, with a code from
   * the old one (or a backup code) proved in this sign-in within the grant's time; asked for now when
   * there is none. No helpdesk reset, and no window in which the account has no second factor.
   */
  router.get(REPLACE, async (req, res) => {
    const session = await granted(req, res);
    if (!session) return;
    if (!(await totp.isEnrolled(session.user))) return res.redirect(303, HOME);
    if (!(await setupAllowedHere(req, res, session, true))) return;
    if (!provedSecondFactorRecently(session, clock.now())) return interaction.start(req, res, accountLoginRequest(SECOND_FACTOR_POLICY, 'replace'));
    await showEnroll(req, res, session, undefined, true);
  });

  router.post(REPLACE, async (req, res) => {
    csrf.verify(req);
    const session = await granted(req, res, 'replace-again');
    if (!session) return;
    if (!(await totp.isEnrolled(session.user))) return res.redirect(303, HOME);
    if (!(await setupAllowedHere(req, res, session, true))) return;
    // The code proved in this sign-in has grown too old while the page was open: asked again first.
    if (!provedSecondFactorRecently(session, clock.now())) return res.redirect(303, REPLACE);
    const result = await totp.enrollment.finish({ user: session.user, sessionId: session.id, ip: req.clientIp }, req.body?.code, { replacing: true });
    await audit(req, session, 'mfa.replace', result.ok ? 'success' : 'failure', result.ok ? undefined : result.reason);
    // Expired: an administrator's reset, or a replacement confirmed in another browser, came first.
    if (!result.ok) return result.reason === 'expired' ? res.redirect(303, HOME) : showEnroll(req, res, session, result.reason, true);
    const stepped = await sessions.addFactor(session, { method: result.amr, at: clock.now() });
    await access.grant(stepped);
    await showCodes(res, stepped, { codes: result.backupCodes, notice: 'Your new authenticator app is set up. Codes from the old one no longer work, nor do your old backup codes.' });
  });

  router.get(NEW_CODES, async (req, res) => {
    const session = await granted(req, res);
    if (!session) return;
    if (!(await totp.isEnrolled(session.user))) return res.redirect(303, HOME);
    const codesLeft = await services.mfa.backupCodes.remaining(session.user.id);
    sendPage(res, newBackupCodesPage({ codesLeft, action: SHOWN_CODES, csrf: csrf.token(req, res), back: { href: HOME, label: 'Keep my current codes' } }));
  });

  router.post(SHOWN_CODES, async (req, res) => {
    csrf.verify(req);
    const session = await granted(req, res);
    if (!session) return;
    if (!(await totp.isEnrolled(session.user))) return res.redirect(303, HOME);
    // Only from the page that said what it voids.
    if (req.body?.[CONFIRM_FIELD] !== 'yes') return res.redirect(303, NEW_CODES);
    const codes = await services.mfa.backupCodes.regenerate(session.user.id, config.mfa.totp.backupCodes, clock.now());
    await audit(req, session, 'mfa.backup-codes.regenerate', 'success');
    await showCodes(res, session, { codes, notice: 'New backup codes were made; the old ones no longer work.' });
  });

  return router;
}

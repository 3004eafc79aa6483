import type { Request, Response } from 'express';
import type { LoginInteraction } from './interaction.ts';
import type { LoginTransaction } from './transaction.ts';
import type { FlowStep } from './flow.ts';
import type { SsoSession } from '../session/sso-session.ts';
import { stepUrl } from './step-url.ts';
import { showPassword } from './steps/password.ts';
import { showChangePassword } from './steps/change-password.ts';
import { showMfaChallenge } from './steps/mfa-challenge.ts';
import { showIssuedBackupCodes, showMfaEnroll } from './steps/mfa-enroll.ts';
import { firstMethod } from './steps/mfa-guard.ts';
import { sendPage } from '../http/render.ts';
import { expiryWarningPage } from '../../views/login/expiry-warning.ts';
import { messagePage } from '../../views/message.ts';
import { setupElsewherePage } from '../../views/mfa/setup-elsewhere.ts';
import { backupCodeUsedPage } from '../../views/mfa/backup-code-used.ts';
import { SECURITY_SETTINGS_PATH } from './account-messages.ts';
import { firstSinceSignedOut, SIGNED_OUT_DURING_SIGN_IN } from './signed-out-notice.ts';

export type PageStep = Exclude<FlowStep, { kind: 'complete' }>;

/** A refusal that already says to ask the helpdesk (the policy's default words do). */
const HELPDESK_NAMED = /\bhelpdesk\b/i;

/** Renders the page of a step the flow asked for, in the response to whatever request led here. */
export async function showStep(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, session: SsoSession | undefined, step: PageStep): Promise<void> {
  const { csrf, audit } = interaction.deps;
  switch (step.kind) {
    case 'password': {
      const refusal = await interaction.refusalFor(tx, 'password');
      const signedOut = await firstSinceSignedOut(interaction.deps.transactions, tx, session, refusal !== undefined);
      const told = signedOut.tell ? { step: 'password' as const, message: SIGNED_OUT_DURING_SIGN_IN, status: 200, username: tx.request.loginHint ?? '', signedOut: true as const } : undefined;
      return showPassword(req, res, interaction, signedOut.tx, refusal ?? told, step.again && session && { session, reason: step.again });
    }
    case 'change-password':
      return showChangePassword(req, res, interaction, tx, await interaction.refusalFor(tx, 'change-password'));
    case 'expiry-warning':
      return sendPage(res, expiryWarningPage({ days: step.days, changeAction: stepUrl(tx, '/change-password'), continueAction: stepUrl(tx, '/continue'), csrf: csrf.token(req, res) }));
    case 'backup-codes':
      return showIssuedBackupCodes(req, res, interaction, tx, step.codes);
    case 'backup-code-used':
      return sendPage(res, backupCodeUsedPage({ left: step.left, rpName: tx.request.rpName, securityHref: SECURITY_SETTINGS_PATH, continueAction: stepUrl(tx, '/continue'), csrf: csrf.token(req, res) }));
    // The flow asks for a second factor only when there is a session (the password comes first).
    case 'mfa-challenge':
      return showMfaChallenge(req, res, interaction, await interaction.bindMfa(tx, session!), session!, firstMethod(interaction, step.methods), await interaction.refusalFor(tx, 'mfa-challenge'));
    case 'mfa-enroll': {
      const refusal = await interaction.refusalFor(tx, 'mfa-enroll');
      const method = firstMethod(interaction, step.methods);
      // The code refused was typed for the secret shown to an earlier session of this user: show that one again.
      if (refusal?.shownToSessionId !== undefined && tx.mfa?.sessionId === refusal.shownToSessionId) return showMfaEnroll(req, res, interaction, tx, session!, method, { refusal });
      // This sign-in showed its MFA step to an earlier session of this user (ended by an administrator's
      // reset, a sign-out, or replaced by a sign-in in another tab): the secret shown now is a new one.
      const signedInAgain = tx.mfa !== undefined && tx.mfa.userId === session!.user.id && tx.mfa.sessionId !== session!.id;
      return showMfaEnroll(req, res, interaction, await interaction.bindMfa(tx, session!), session!, method, { refusal, signedInAgain });
    }
    case 'denied': {
      const who = { rp: tx.request.rpId, userId: session?.user.id, username: session?.user.username, ip: req.clientIp, requestId: req.requestId };
      // A first second factor refused from this network is the setup's refusal, as on "My security", not the policy's.
      if (step.outsideEnrollmentNetworks) await audit.record({ type: 'mfa.enroll', outcome: 'failure', reason: 'outside-enrollment-networks', ...who });
      else await audit.record({ type: 'login.policy', outcome: 'failure', ...who, policy: step.policy, rule: step.rule, ...(step.ruleNumber !== undefined ? { ruleNumber: step.ruleNumber } : {}), reason: step.message });
      const back = { href: stepUrl(tx, '/back'), label: `Back to ${tx.request.rpName}` };
      const { helpdesk } = interaction.deps.messages;
      // Not a refusal of the user: the message already says where to set it up, or whom to ask.
      if (step.outsideEnrollmentNetworks) return sendPage(res, setupElsewherePage({ message: step.message, back, helpdesk }), 403);
      // Whom to ask, once: the policy's own refusal already sends the user to the helpdesk; an administrator's text may not.
      const askHelpdesk = HELPDESK_NAMED.test(step.message) ? undefined : `If you think you should be able to use ${tx.request.rpName}, contact your helpdesk.`;
      return sendPage(res, messagePage({ title: 'Access denied', message: step.message, link: back, helpdesk: helpdesk ?? askHelpdesk }), 403);
    }
  }
}

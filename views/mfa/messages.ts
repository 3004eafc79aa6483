import { roundUpToMinute, utcEndTimeOfDay } from '../../src/core/utc-minute.ts';
import type { CodeProblem } from '../../src/mfa/code-problem.ts';

/** Plain-words texts of the second-factor pages, in one place so every page says the same thing. */

/** Backup codes share the lock (they are as guessable as app codes), so the locked page offers none and says why. */
const BACKUP_CODES_TOO = ' Backup codes are blocked too.';

export function lockMessage(lockedUntil: number | null, now: number, lockedFor: 'account' | 'client' = 'account'): string {
  if (lockedFor === 'client' && lockedUntil !== null) {
    // Not the user's lock: their account is fine, only codes from this address (a shared office, or a guesser on it) are refused for a while.
    // No helpdesk: no command lifts an address's lock (mfa unlock is the user's); another network is what helps before it ends.
    return `Too many wrong codes were entered from your network, so sign-in codes from here are blocked for ${waitFor(lockedUntil, now)} (until ${lockEnd(lockedUntil, now)}). Try again after that, or from another network.`;
  }
  if (lockedUntil === null) return `Too many wrong codes were entered, so sign-in codes are blocked for your account until your helpdesk unlocks them.${BACKUP_CODES_TOO}`;
  return `Too many wrong codes were entered, so sign-in codes are blocked for your account for ${waitFor(lockedUntil, now)} (until ${lockEnd(lockedUntil, now)}).${BACKUP_CODES_TOO} Try again after that, or ask your helpdesk to unlock it.`;
}

function waitFor(until: number, now: number): string {
  const minutes = Math.max(1, Math.ceil((until - now) / 60_000));
  return minutes < 120 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${Math.ceil(minutes / 60)} hours`;
}

const DAY_MS = 86_400_000;
const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/**
 * When a lock lifts: the minute it has lifted by (rounded up, as waitFor rounds the wait up), so a
 * user who comes back at the time shown is let in; with the day when that is not today (16 and 24
 * hour locks).
 */
function lockEnd(until: number, now: number): string {
  const end = roundUpToMinute(until);
  const time = utcEndTimeOfDay(until);
  // UTC days are all 86 400 000 ms long in JavaScript time (it has no leap seconds).
  return Math.floor(end / DAY_MS) === Math.floor(now / DAY_MS) ? time : `${time} on ${DAY.format(end)}`;
}

/**
 * The setup page's time limit (it cannot be extended): typing a key by hand, or with a screen reader,
 * can take a while. `rpName`: during a sign-in, which ends with the limit; without it, on "My security",
 * where the user is asked to sign in again and is then shown a new code. Either way the entry already
 * added to the app would not work: its codes would later count as wrong ones.
 */
export function setupTimeLimitMessage(msLeft: number, rpName?: string): string {
  const minutes = Math.floor(msLeft / 60_000);
  const within = minutes < 1 ? 'within the next minute' : `within ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return rpName
    ? `Finish this setup ${within}, or this sign-in expires. If it does, delete the entry you added to your authenticator app, then go back to ${rpName} and sign in again.`
    : `Finish this setup ${within}, or you will have to sign in again. If you do, delete the entry you added to your authenticator app: you will be shown a new code.`;
}

/** Added to the "sign-in expired" page when the form sent was the setup's (see setupTimeLimitMessage). */
export const SETUP_EXPIRED_ADVICE = 'The entry you added to your authenticator app for this setup will not work: delete it. When you sign in again, you will be shown a code to add.';

/** The setup page on "My security" after the time ran out and the user signed in again (see setupTimeLimitMessage). */
export const SETUP_TIME_RAN_OUT_NOTICE = 'The time for the setup ran out, so you signed in again and this is a new code. Delete the entry you added to your authenticator app before: it will not work. Then scan the code below.';

/**
 * The setup page after the user had to sign in again during this sign-in's MFA step (after an
 * administrator's reset, above all): the app's entry from before would count as wrong codes later.
 */
export const SIGNED_IN_AGAIN_NOTICE = 'You had to sign in again, so this is a new setup code. If your authenticator app already has an entry for this account from before, delete it: it will not work (an administrator may have reset your setup). Then scan the code below.';

/** A setup page while a setup shown to another SSO session of the user is still open (closed mid-setup and signed in again, here or elsewhere; or someone else with the password). */
export const SETUP_OPEN_ELSEWHERE_NOTICE = 'Another setup for this account is still open (in another browser or window, or from before you last signed in). Each setup shows its own code, and only the one you finish will work: if your authenticator app already has an entry for this account from the other setup, delete it. Then scan the code below.';

/** The password page after a code or setup form sent when the browser was no longer signed in (see mfaAnswerContext). */
export const SIGNED_OUT_BEFORE_CODE = 'You were signed out (in another window or tab, for example), so the code you entered was not checked. Sign in again to go on.';

/** A code or setup form sent after another person signed in on this browser (see showAnswerForAnotherUser). */
export function answerForAnotherUserMessage(signedInNow: string, rpName: string, setup: boolean): string {
  const entry = setup ? ' The entry you added to your authenticator app for this setup will not work: delete it.' : '';
  return `Since this page was shown, ${signedInNow} signed in on this browser (in another window or tab, for example), so the code you entered was not checked and nothing was sent to ${rpName}.${entry} To sign in as yourself, sign out first, then go back to ${rpName}.`;
}

export function codeProblemMessage(problem: CodeProblem, digits: number, options: { backupCodesAccepted: boolean }): string {
  switch (problem) {
    case 'invalid':
      // A phone whose clock is off by more than mfa.totp.clockSkewSeconds shows codes that are never
      // right, and nothing else on the page would tell the user why before the lock.
      return "That code is not correct. Check the code in your authenticator app and try again. If your app's codes are never accepted, check that your phone sets its date and time automatically.";
    case 'wrong-backup-code':
      return 'That backup code is not correct. Check that you typed it exactly as it is on your list of backup codes, or enter the code from your authenticator app instead. If you have neither your app nor a backup code you have not used, contact your helpdesk.';
    case 'malformed':
      return options.backupCodesAccepted ? `Enter the ${digits}-digit code from your authenticator app, or one of your backup codes.` : `Enter the ${digits}-digit code from your authenticator app.`;
    case 'replayed':
      return 'That code was already used. Wait until your app shows a new code, then enter it.';
    case 'spent-backup-code':
      return 'That backup code was already used. Each backup code works only once: enter one you have not used yet, or the code from your authenticator app.';
    case 'expired':
      // The app still holds the old entry; its codes would later count as wrong ones at sign-in.
      return 'This setup expired or was finished elsewhere. Delete the entry you added for it from your authenticator app, then scan the new code below and try again.';
    case 'enrolled-elsewhere':
      return 'An authenticator app was set up for your account from another browser a moment ago, so the entry you just added will not work: delete it from your app. If you set it up there, enter the code from that entry. If that was not you, contact your helpdesk.';
  }
}

import type { Amr, User } from '../core/types.ts';
import type { MfaMethodId } from '../policy/levels.ts';

export type { MfaMethodId } from '../policy/levels.ts';

/** Who is answering a challenge, and from where (lockout status and audit show the IP). */
export interface ChallengeContext {
  user: User;
  ip: string;
}

/** What a challenge page needs to show. */
export interface ChallengeView {
  /** Set while the method is locked: epoch ms when it unlocks, or null when only an administrator can unlock it. */
  lockedUntil?: number | null;
  /** Whose lock it is: the user's codes (default), or the client's address (its wrong passwords and codes, any user). */
  lockedFor?: 'account' | 'client';
  /** Length of the expected code, for code-based methods. */
  digits?: number;
  backupCodesLeft?: number;
}

export type VerifyResult =
  | { ok: true; amr: Amr; backupCodesLeft?: number }
  /**
   * malformed: not shaped like a code (not counted as a failure); replayed: a correct app code used
   * before; spent-backup-code: a backup code used before (the user's own list, not a guess);
   * locked: too many wrong codes (`lockedUntil` as in ChallengeView); `lockStarted` when this wrong
   * code was the one that started the lock, and `lockCount` which lock in a row it is (for the audit:
   * locks that keep coming back are someone guessing, and each lasts longer). `backupCode`: the wrong
   * code was typed as a backup code, so the user is told to check their list, not their app.
   */
  | { ok: false; reason: 'invalid' | 'malformed' | 'replayed' | 'spent-backup-code' | 'locked'; lockedUntil?: number | null; lockStarted?: true; lockCount?: number; backupCode?: true };

/** A secret to show while enrolling, as text and as an otpauth:// URI (rendered as a QR code). */
export interface EnrollmentView {
  secret: string;
  uri: string;
  digits: number;
  periodSeconds: number;
  algorithm: string;
  /**
   * A setup shown to another browser (SSO session) of the user is still open: the user may have scanned
   * it and come back in a new browser, and that entry in their app will never work once this one is used.
   */
  openElsewhere: boolean;
}

export type EnrollmentResult = { ok: true; amr: Amr; backupCodes: string[] } | { ok: false; reason: 'invalid' | 'malformed' | 'expired' };

/**
 * Who is setting up a method, and in which browser. A secret shown during setup belongs to that one
 * SSO session: someone else who knows the password signs in with a session of their own, so never
 * sees it, and cannot confirm a secret they were shown themselves once the user has set up theirs.
 */
export interface EnrollmentContext {
  user: User;
  /** The SSO session (one browser) the setup page is shown to. */
  sessionId: string;
}

/**
 * Self-service setup, activated only once the user proves the new authenticator works. `replacing`:
 * the user has this method set up and moves it to a new authenticator (a new phone); the old one stops
 * working when the new one is confirmed. Without it, a user who has the method set up cannot set it up.
 */
export interface MfaEnrollment {
  begin(context: EnrollmentContext): Promise<EnrollmentView>;
  finish(context: ChallengeContext & EnrollmentContext, response: unknown, options?: { replacing?: boolean }): Promise<EnrollmentResult>;
  /** Drops what `begin` showed this browser, when its setup ran out of time: the next `begin` shows a new one. */
  forget(context: EnrollmentContext): Promise<void>;
}

/** One second-factor method. Implementations own their storage; the login flow only sees this seam. */
export interface MfaMethod {
  readonly id: MfaMethodId;
  isEnrolled(user: User): Promise<boolean>;
  startChallenge(context: ChallengeContext): Promise<ChallengeView>;
  verify(context: ChallengeContext, response: unknown): Promise<VerifyResult>;
  enrollment?: MfaEnrollment;
}

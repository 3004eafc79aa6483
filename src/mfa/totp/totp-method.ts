import type { User } from '../../core/types.ts';
import type { Clock } from '../../core/clock.ts';
import type { ChallengeContext, ChallengeView, EnrollmentContext, EnrollmentResult, EnrollmentView, MfaEnrollment, MfaMethod, VerifyResult } from '../mfa-method.ts';
import type { TotpEnrollment, TotpEnrollments } from './totp-enrollments.ts';
import { ExclusiveKeys } from '../../core/exclusive-keys.ts';
import type { BackupCodes } from './backup-codes.ts';
import { afterFailure, afterSuccess, lockedUntil, type LockoutSettings, type TotpState, type TotpStateStore } from './totp-state.ts';
import { classifyCode, matchingTimeStep, newTotpSecret, otpauthUri, type CodeInput, type TotpParameters } from './totp-codes.ts';
import type { Regulator } from '../../regulation/regulator.ts';

export interface TotpSettings extends TotpParameters, LockoutSettings {
  issuer: string;
  clockSkewSeconds: number;
  backupCodes: number;
}

export interface TotpDeps {
  enrollments: TotpEnrollments;
  state: TotpStateStore;
  backupCodes: BackupCodes;
  clock: Clock;
  settings: TotpSettings;
  /**
   * Counts wrong codes per client too, on the count wrong passwords from that client go to. Absent
   * where no code is checked (the CLI's administration commands).
   */
  clients?: Pick<Regulator, 'admitClient' | 'clientLockedUntil'>;
}

type Outcome = { next?: TotpState; result: VerifyResult };

/** A code that was checked and was wrong: counted on the client's count (not one a lock refused, nor the user's own typed again). */
function wasWrongGuess(result: VerifyResult): boolean {
  return !result.ok && (result.reason === 'invalid' || result.lockStarted === true);
}

/** TOTP (RFC 6238, otplib) with replay protection, lockout and single-use backup codes. */
export class TotpMethod implements MfaMethod {
  readonly id = 'totp' as const;
  readonly enrollment: MfaEnrollment;
  readonly #deps: TotpDeps;
  readonly #activating = new ExclusiveKeys();
  readonly #spendingBackupCode = new ExclusiveKeys();

  constructor(deps: TotpDeps) {
    this.#deps = deps;
    this.enrollment = {
      begin: (context) => this.#begin(context),
      finish: (context, response, options) => this.#finish(context, response, options?.replacing === true),
      forget: ({ user, sessionId }) => this.#deps.enrollments.discardPendingOf(user.id, sessionId),
    };
  }

  async isEnrolled(user: User): Promise<boolean> {
    return (await this.#deps.enrollments.get(user.id)) !== undefined;
  }

  async startChallenge({ user, ip }: ChallengeContext): Promise<ChallengeView> {
    const { enrollments, state, backupCodes, clock, settings, clients } = this.#deps;
    const enrollment = await enrollments.get(user.id);
    const userLock = lockedUntil(await state.read(user.id), clock.now(), settings);
    const clientLock = userLock === undefined ? await clients?.clientLockedUntil(ip) : undefined;
    const lock = userLock !== undefined ? { lockedUntil: userLock } : clientLock !== undefined ? { lockedUntil: clientLock, lockedFor: 'client' as const } : {};
    return { digits: enrollment?.digits ?? settings.digits, backupCodesLeft: await backupCodes.remaining(user.id), ...lock };
  }

  async verify(context: ChallengeContext, response: unknown): Promise<VerifyResult> {
    const enrollment = await this.#deps.enrollments.get(context.user.id);
    if (!enrollment) return { ok: false, reason: 'invalid' };
    const input = classifyCode(response, enrollment.digits);
    if (input.kind === 'malformed') return this.#check(context, enrollment, input);
    return this.#countedOnClient(context.ip, () => this.#check(context, enrollment, input));
  }

  /** Checks one guess with a place held in its client's count, and counts it there when it was wrong. */
  async #countedOnClient(ip: string, check: () => Promise<VerifyResult>): Promise<VerifyResult> {
    const { clients } = this.#deps;
    if (!clients) return check();
    const admission = await clients.admitClient(ip);
    if (!admission.allowed) return { ok: false, reason: 'locked', lockedUntil: admission.until };
    let result: VerifyResult | undefined;
    try {
      result = await check();
      return result;
    } finally {
      await (result !== undefined && wasWrongGuess(result) ? admission.attempt.failed() : admission.attempt.settled());
    }
  }

  async #check({ user, ip }: ChallengeContext, enrollment: TotpEnrollment, input: CodeInput): Promise<VerifyResult> {
    const { enrollments, state, backupCodes, clock, settings } = this.#deps;
    const now = clock.now();
    const locked = (current: TotpState): Outcome | undefined => {
      const until = lockedUntil(current, now, settings);
      return until === undefined ? undefined : { next: { ...current, lastAttempt: { at: now, ip, ok: false } }, result: { ok: false, reason: 'locked', lockedUntil: until } };
    };
    const failed = (current: TotpState): Outcome => {
      const next = afterFailure(current, now, ip, settings);
      const until = lockedUntil(next, now, settings);
      return { next, result: until === undefined ? { ok: false, reason: 'invalid' } : { ok: false, reason: 'locked', lockedUntil: until, lockStarted: true, lockCount: next.locks } };
    };

    if (input.kind === 'malformed') return state.update(user.id, (current) => locked(current) ?? { result: { ok: false, reason: 'malformed' } });

    if (input.kind === 'totp') {
      const step = await matchingTimeStep(enrollments.secretOf(enrollment), input.code, enrollment, now, settings.clockSkewSeconds);
      // Lock, replay and success are decided on the same state value and written with one compare-and-set.
      const result = await state.update<VerifyResult>(user.id, (current) => {
        const refusal = locked(current);
        if (refusal) return refusal;
        if (step === undefined) return failed(current);
        if (current.lastStep !== undefined && step <= current.lastStep) return { next: { ...current, lastAttempt: { at: now, ip, ok: false } }, result: { ok: false, reason: 'replayed' } };
        return { next: afterSuccess(current, now, ip, step), result: { ok: true, amr: 'otp' } };
      });
      if (result.ok) await this.#refreshUsername(enrollment, user);
      return result;
    }

    // One backup code of a user at a time, from the "already used" check to the spending: the same
    // code sent from several tabs at once is spent by the first and found used by the others, never
    // taken by them for a wrong code (their check ran before the first one spent it).
    const code = input.code;
    return this.#spendingBackupCode.run(user.id, async () => {
      // A spent backup code typed again is the user's own (crossed off a list they hold), not a guess:
      // like a replayed app code it is told as such and not counted, while a lock still refuses it.
      // Telling it reveals nothing: a guess finds a spent code no more often than an unspent one.
      if (await backupCodes.wasUsed(user.id, code)) {
        return state.update<VerifyResult>(user.id, (current) => locked(current) ?? { next: { ...current, lastAttempt: { at: now, ip, ok: false } }, result: { ok: false, reason: 'spent-backup-code' } });
      }

      // Backup codes share the lock: they are a second factor as guessable as any other code. A code is
      // counted as a failure before it is checked, in the compare-and-set that checks the lock, so that
      // of codes sent at once (app codes too) no more than maxFailures wrong ones are ever checked and
      // none is accepted once the lock has started. A right one then clears the count, as if it had come first.
      const place = await state.update<{ refused: VerifyResult } | { ifWrong: VerifyResult }>(user.id, (current) => {
        const refusal = locked(current);
        if (refusal) return { next: refusal.next, result: { refused: refusal.result } };
        const failure = failed(current);
        return { next: failure.next, result: { ifWrong: failure.result } };
      });
      if ('refused' in place) return place.refused;
      const left = await backupCodes.consume(user.id, code);
      if (left === undefined) return !place.ifWrong.ok && place.ifWrong.reason === 'invalid' ? { ...place.ifWrong, backupCode: true } : place.ifWrong;
      await state.update(user.id, (current) => ({ next: afterSuccess(current, now, ip), result: undefined }));
      await this.#refreshUsername(enrollment, user);
      return { ok: true, amr: 'otp', backupCodesLeft: left };
    });
  }

  /** The administrator's tools show the name a user has now: a renamed user's old name may be someone else's. */
  async #refreshUsername(enrollment: TotpEnrollment, user: User): Promise<void> {
    if (enrollment.username !== user.username) await this.#deps.enrollments.refreshUsername(user.id, user.username);
  }

  async #begin({ user, sessionId }: EnrollmentContext): Promise<EnrollmentView> {
    const { enrollments, clock, settings } = this.#deps;
    // A reload in the same browser shows the same secret, so a QR code already scanned stays valid.
    let pending = await enrollments.pending(user.id, sessionId);
    if (!pending) {
      const parameters: TotpParameters = { digits: settings.digits, periodSeconds: settings.periodSeconds, algorithm: settings.algorithm };
      pending = { ...parameters, secret: newTotpSecret(), createdAt: clock.now() };
      await enrollments.setPending(user.id, sessionId, pending.secret, parameters, pending.createdAt);
    }
    const { secret, digits, periodSeconds, algorithm } = pending;
    const openElsewhere = await enrollments.pendingElsewhere(user.id, sessionId);
    return { secret, digits, periodSeconds, algorithm, openElsewhere, uri: otpauthUri({ issuer: settings.issuer, label: user.username, secret, parameters: pending }) };
  }

  /**
   * Activates this browser's pending secret once the user typed a current code from it; returns fresh
   * backup codes. One confirmation per user at a time, from its first read to its last write: the ones
   * racing it (another browser, a second click) find the user set up and are told "expired", never
   * "set up" for a secret that is not the one registered, nor shown a new one that can never be confirmed.
   * (A sign-in's setup answered once the user is set up does not get here: its step is then the code
   * page, which says the method was set up elsewhere; see mfa-guard.ts.)
   */
  #finish(context: ChallengeContext & EnrollmentContext, response: unknown, replacing: boolean): Promise<EnrollmentResult> {
    return this.#activating.run(context.user.id, () => this.#confirm(context, response, replacing));
  }

  /**
   * `replacing`: the registration must still be there (an administrator's reset meanwhile voids the
   * new secret too); the new secret takes its place, with fresh backup codes and a fresh count.
   */
  async #confirm({ user, ip, sessionId }: ChallengeContext & EnrollmentContext, response: unknown, replacing: boolean): Promise<EnrollmentResult> {
    const { enrollments, state, backupCodes, clock, settings } = this.#deps;
    const pending = await enrollments.pending(user.id, sessionId);
    if (!pending || (await this.isEnrolled(user)) !== replacing) return { ok: false, reason: 'expired' };
    const input = classifyCode(response, pending.digits);
    if (input.kind !== 'totp') return { ok: false, reason: 'malformed' };
    const now = clock.now();
    const step = await matchingTimeStep(pending.secret, input.code, pending, now, settings.clockSkewSeconds);
    if (step === undefined) return { ok: false, reason: 'invalid' };
    const taken = await enrollments.takePending(user.id, sessionId);
    if (!taken) return { ok: false, reason: 'expired' };
    const parameters: TotpParameters = { digits: pending.digits, periodSeconds: pending.periodSeconds, algorithm: pending.algorithm };
    await enrollments.put(user.id, user.username, pending.secret, parameters, now);
    // An `mfa reset` by the CLI writes its mark, then removes the registration. Asked again after the
    // put, the mark is seen whenever the removal came before the put, which it would otherwise undo.
    if (await enrollments.resetSince(user.id, taken.resetMark)) {
      await enrollments.removeIfStill(user.id, pending.secret, now);
      return { ok: false, reason: 'expired' };
    }
    // Secrets other browsers were shown go now: after an administrator's reset one of them would
    // otherwise be confirmable again, and it may have been shown to someone who had only the password.
    await enrollments.discardPending(user.id);
    // The confirming code counts as used: it cannot be replayed at the next challenge.
    await state.update(user.id, () => ({ next: afterSuccess({ failures: 0 }, now, ip, step), result: undefined }));
    return { ok: true, amr: 'otp', backupCodes: await backupCodes.regenerate(user.id, settings.backupCodes, now) };
  }
}

/**
 * The kill -9 check: OIDC sign-ins run, a user sets up TOTP through the IdP's setup page, the IdP is
 * killed with SIGKILL right after that answer, and everything a completed sign-in was promised must
 * still be there, read back through Stepgate's own modules: the SSO session (with its TOTP factor),
 * the TOTP replay marker, the enrollment the IdP wrote. Then the IdP is restarted on the same data and
 * the saved state is used for real: the sessions sign in to an app without a prompt, a used code is
 * refused as a replay, rotated refresh tokens still work, and the enrolled key signs its user in.
 */
import { createLocalJWKSet } from 'jose';
import type { Config } from '../../src/config/schema.ts';
import { systemClock } from '../../src/core/clock.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SessionService } from '../../src/session/session-service.ts';
import { CookieJar } from '../../src/http/cookies.ts';
import { TotpStateStore } from '../../src/mfa/totp/totp-state.ts';
import { buildMfa } from '../../src/mfa/build-mfa.ts';
import { HttpClient, Jar, encodeForm, formWith, BenchError } from './driver/http.ts';
import { UserPicker } from './driver/users.ts';
import { refreshGrant, ssoReuse, type OidcContext } from './driver/oidc.ts';
import { enrolThroughSetupPage, signInWithKey, type EnrolledKey } from './enrolment.ts';
import { CODE_FIELD } from './driver/sign-in.ts';
import type { DriverSetup, SignInRecord } from './driver/protocol.ts';
import { enrollingUser, userId, userPassword } from './ldap.ts';
import { say, type Bench, type Instance } from './bench.ts';

export interface DurabilityResult {
  passed: boolean;
  /** Sign-ins whose answer the driver had before the kill. */
  completedBeforeKill: number;
  checked: number;
  missingSessions: number;
  sessionsWithoutTotpFactor: number;
  staleReplayMarkers: number;
  /** Of the seeded enrollments of those sign-ins' users (written before the IdP started). */
  missingEnrollments: number;
  /** The enrollment the killed IdP wrote itself just before the kill: answered, then read back, then used after the restart. */
  enrolledBeforeKill: { user: number; confirmed: boolean; stored: boolean; signsInAfterRestart: boolean };
  afterRestart: { ssoReuseOk: number; ssoReuseTried: number; replayRefused: boolean; refreshOk: number; refreshTried: number };
  problems: string[];
}

/** Reads the killed IdP's data directory the way the IdP itself will on its next start. */
/** `enrolled`: the key the IdP confirmed for that user before the kill, which the store must hold. */
export async function checkStore(config: Config, secretKey: string, records: SignInRecord[], enrolled?: { user: number; key: EnrolledKey }): Promise<Omit<DurabilityResult, 'afterRestart' | 'passed' | 'completedBeforeKill' | 'enrolledBeforeKill'> & { enrolledKeyStored: boolean }> {
  const box = new SecretBox(Buffer.from(secretKey, 'base64'));
  const store = await new LowdbStore(config.dataDir, systemClock, { sealer: journalSealer(box), owner: false }).open();
  const problems: string[] = [];
  let missingSessions = 0;
  let sessionsWithoutTotpFactor = 0;
  let staleReplayMarkers = 0;
  let missingEnrollments = 0;
  let enrolledKeyStored = false;
  try {
    const sessions = new SessionService(store.kv, config.session, systemClock, new CookieJar(config.server.publicUrl));
    const state = new TotpStateStore(store.kv);
    const { enrollments } = buildMfa(config, store, box, systemClock);
    for (const record of records) {
      const session = record.sessionId ? await sessions.byId(record.sessionId) : undefined;
      if (!session) {
        missingSessions++;
        if (problems.length < 5) problems.push(`session of user${record.user} (finished ${new Date(record.at).toISOString()}) is missing`);
      } else if (!session.factors.some((factor) => factor.method === 'otp')) sessionsWithoutTotpFactor++;
      if (record.totpStep !== undefined && ((await state.read(userId(record.user))).lastStep ?? -1) < record.totpStep) {
        staleReplayMarkers++;
        if (problems.length < 5) problems.push(`TOTP replay marker of user${record.user} is older than step ${record.totpStep}`);
      }
      if (!(await enrollments.get(userId(record.user)))) missingEnrollments++;
    }
    if (enrolled) {
      const enrollment = await enrollments.get(userId(enrolled.user));
      enrolledKeyStored = !!enrollment && enrollments.secretOf(enrollment) === enrolled.key.secret;
      if (!enrolledKeyStored) problems.push(`the enrollment of user${enrolled.user}, confirmed before the kill, is ${enrollment ? 'there with another key' : 'missing'}`);
    }
  } finally {
    await store.close();
  }
  return { checked: records.length, missingSessions, sessionsWithoutTotpFactor, staleReplayMarkers, missingEnrollments, enrolledKeyStored, problems };
}

/** After the restart: a used code for a user must be refused as a replay (same step, same user). */
async function replayRefused(http: HttpClient, setup: DriverSetup, record: SignInRecord): Promise<boolean> {
  const oidc = setup.oidc!;
  const jar = new Jar();
  const params = new URLSearchParams({ client_id: oidc.clientId, redirect_uri: oidc.redirectUri, response_type: 'code', scope: oidc.scope, state: 's', nonce: 'n', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
  const first = await http.follow('GET', `${oidc.authorizationEndpoint}?${params}`, { jar });
  const login = formWith(first, 'password', 'replay: password page');
  const mfaPage = await http.follow('POST', login.action, { jar, body: encodeForm({ ...login.fields, username: `user${record.user}`, password: userPassword(record.user) }) });
  const mfa = formWith(mfaPage, CODE_FIELD, 'replay: totp page');
  const picker = new UserPicker(setup);
  const reply = await http.follow('POST', mfa.action, { jar, body: encodeForm({ ...mfa.fields, [CODE_FIELD]: picker.code(record.user, record.totpStep!) }) });
  return reply.status === 401 && /already used/i.test(reply.body);
}

function oidcContext(setup: DriverSetup, http: HttpClient): OidcContext {
  return { http, setup: setup.oidc!, users: new UserPicker(setup), mfaAcr: setup.mfaAcr, jwks: createLocalJWKSet(setup.oidc!.jwks as never) };
}

export async function checkAfterRestart(setup: DriverSetup, records: SignInRecord[], enrolled?: { user: number; key: EnrolledKey }): Promise<DurabilityResult['afterRestart'] & { enrolledSignsIn: boolean; problems: string[] }> {
  const http = new HttpClient(setup.idpUrl);
  const problems: string[] = [];
  const ctx = oidcContext(setup, http);
  const sample = records.filter((record) => record.sessionId).slice(-20);
  let ssoReuseOk = 0;
  for (const record of sample) {
    try {
      await ssoReuse(ctx, { id: record.sessionId!, user: record.user });
      ssoReuseOk++;
    } catch (error) {
      if (problems.length < 5) problems.push(`session of user${record.user} after restart: ${(error as Error).message}`);
    }
  }
  const tokens = records.filter((record) => record.refreshToken).slice(-20);
  let refreshOk = 0;
  for (const record of tokens) {
    try {
      await refreshGrant(ctx, { value: record.refreshToken!, user: record.user });
      refreshOk++;
    } catch (error) {
      if (problems.length < 5) problems.push(`refresh token of user${record.user} after restart: ${(error as Error).message}`);
    }
  }
  const withStep = [...records].reverse().find((record) => record.totpStep !== undefined);
  let refused = false;
  if (withStep) {
    try {
      refused = await replayRefused(http, setup, withStep);
      if (!refused) problems.push(`a used TOTP code of user${withStep.user} was not refused as a replay after the restart`);
    } catch (error) {
      problems.push(`replay check: ${error instanceof BenchError ? error.message : String(error)}`);
    }
  }
  let enrolledSignsIn = false;
  if (enrolled) {
    try {
      await signInWithKey(ctx, enrolled.user, enrolled.key);
      enrolledSignsIn = true;
    } catch (error) {
      problems.push(`user${enrolled.user}, enrolled before the kill, signing in with that key after the restart: ${(error as Error).message}`);
    }
  }
  http.close();
  return { ssoReuseOk, ssoReuseTried: sample.length, replayRefused: refused, refreshOk, refreshTried: tokens.length, enrolledSignsIn, problems };
}

/** Runs the whole check on `main` (which it kills); returns the result and the IdP restarted on the same data. */
export async function durabilityRun(bench: Bench, main: Instance, concurrency: number): Promise<{ main: Instance; result: DurabilityResult }> {
  say('\nDurability: kill -9 during OIDC sign-ins, right after a user set up TOTP, then read back and restart:');
  // The setup starts halfway through this much load; the kill follows its answer.
  const loadMs = Math.min(1500, bench.options.duration * 1000);
  const user = enrollingUser(bench.options.users);
  let enrolled: { user: number; key: EnrolledKey } | undefined;
  const enrolProblems: string[] = [];
  let killedAt = Infinity;
  const outcome = await bench.phase(main, 'oidc', concurrency, {
    warmupMs: 500,
    // The setup takes a few round trips under load: the window leaves it time, so the kill lands mid-load.
    durationMs: loadMs + 1000,
    recordLimit: 100_000,
    during: {
      ms: loadMs / 2,
      // Killed as soon as the IdP answered the setup: an enrollment it confirmed must be on disk by then.
      action: async () => {
        const http = new HttpClient(main.setup.idpUrl);
        try {
          enrolled = { user, key: await enrolThroughSetupPage(oidcContext(main.setup, http), user) };
        } catch (error) {
          enrolProblems.push(`user${user} setting up TOTP through the setup page: ${(error as Error).message}`);
        } finally {
          http.close();
        }
        killedAt = Date.now();
        return main.idp.kill();
      },
    },
  });
  const beforeKill = outcome.records.filter((record) => record.at <= killedAt);
  const { enrolledKeyStored, ...stored } = await checkStore(main.config, bench.secretKey, beforeKill, enrolled);
  const restarted = await bench.start(main.name, 0, main);
  const { problems: afterProblems, enrolledSignsIn, ...afterRestart } = await checkAfterRestart(restarted.setup, beforeKill, enrolled);
  const enrolledBeforeKill = { user, confirmed: !!enrolled, stored: enrolledKeyStored, signsInAfterRestart: enrolledSignsIn };
  const result: DurabilityResult = {
    ...stored,
    completedBeforeKill: beforeKill.length,
    enrolledBeforeKill,
    afterRestart,
    problems: [...enrolProblems, ...stored.problems, ...afterProblems],
    passed:
      beforeKill.length > 0 &&
      stored.missingSessions + stored.sessionsWithoutTotpFactor + stored.staleReplayMarkers + stored.missingEnrollments === 0 &&
      enrolledBeforeKill.confirmed &&
      enrolledBeforeKill.stored &&
      enrolledBeforeKill.signsInAfterRestart &&
      afterRestart.ssoReuseOk === afterRestart.ssoReuseTried &&
      afterRestart.refreshOk === afterRestart.refreshTried &&
      afterRestart.replayRefused,
  };
  const yes = (value: boolean) => (value ? 'yes' : 'NO');
  say(`  ${beforeKill.length} sign-ins completed before the kill; missing after kill -9: sessions ${stored.missingSessions}, TOTP factors ${stored.sessionsWithoutTotpFactor}, replay markers ${stored.staleReplayMarkers}, seeded enrollments ${stored.missingEnrollments}`);
  say(`  user${user} set up TOTP through the setup page just before the kill: confirmed ${yes(enrolledBeforeKill.confirmed)}, stored after kill -9 ${yes(enrolledBeforeKill.stored)}, its key signs in after the restart ${yes(enrolledBeforeKill.signsInAfterRestart)}`);
  say(`  after restart: SSO reuse ${afterRestart.ssoReuseOk}/${afterRestart.ssoReuseTried}, refresh ${afterRestart.refreshOk}/${afterRestart.refreshTried}, used code refused as replay: ${afterRestart.replayRefused}${result.problems.length ? `\n  problems: ${result.problems.join('\n            ')}` : ''}`);
  return { main: restarted, result };
}

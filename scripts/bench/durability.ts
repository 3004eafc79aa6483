/**
 * The kill -9 check: OIDC sign-ins run, the IdP is killed with SIGKILL mid-load, and everything a
 * completed sign-in was promised must still be there, read back through Stepgate's own modules:
 * the SSO session (with its TOTP factor), the TOTP replay marker, the enrollment. Then the IdP is
 * restarted on the same data and the saved state is used for real: the sessions sign in to an app
 * without a prompt, a used code is refused as a replay, and rotated refresh tokens still work.
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
import { CODE_FIELD } from './driver/sign-in.ts';
import type { DriverSetup, SignInRecord } from './driver/protocol.ts';
import { userId, userPassword } from './ldap.ts';
import { say, type Bench, type Instance } from './bench.ts';

export interface DurabilityResult {
  passed: boolean;
  /** Sign-ins whose answer the driver had before the kill. */
  completedBeforeKill: number;
  checked: number;
  missingSessions: number;
  sessionsWithoutTotpFactor: number;
  staleReplayMarkers: number;
  missingEnrollments: number;
  afterRestart: { ssoReuseOk: number; ssoReuseTried: number; replayRefused: boolean; refreshOk: number; refreshTried: number };
  problems: string[];
}

/** Reads the killed IdP's data directory the way the IdP itself will on its next start. */
export async function checkStore(config: Config, secretKey: string, records: SignInRecord[]): Promise<Omit<DurabilityResult, 'afterRestart' | 'passed' | 'completedBeforeKill'>> {
  const box = new SecretBox(Buffer.from(secretKey, 'base64'));
  const store = await new LowdbStore(config.dataDir, systemClock, { sealer: journalSealer(box), owner: false }).open();
  const problems: string[] = [];
  let missingSessions = 0;
  let sessionsWithoutTotpFactor = 0;
  let staleReplayMarkers = 0;
  let missingEnrollments = 0;
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
  } finally {
    await store.close();
  }
  return { checked: records.length, missingSessions, sessionsWithoutTotpFactor, staleReplayMarkers, missingEnrollments, problems };
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

export async function checkAfterRestart(setup: DriverSetup, records: SignInRecord[]): Promise<DurabilityResult['afterRestart'] & { problems: string[] }> {
  const http = new HttpClient(setup.idpUrl);
  const problems: string[] = [];
  const ctx: OidcContext = { http, setup: setup.oidc!, users: new UserPicker(setup), mfaAcr: setup.mfaAcr, jwks: createLocalJWKSet(setup.oidc!.jwks as never) };
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
  http.close();
  return { ssoReuseOk, ssoReuseTried: sample.length, replayRefused: refused, refreshOk, refreshTried: tokens.length, problems };
}

/** Runs the whole check on `main` (which it kills); returns the result and the IdP restarted on the same data. */
export async function durabilityRun(bench: Bench, main: Instance, concurrency: number): Promise<{ main: Instance; result: DurabilityResult }> {
  say('\nDurability: kill -9 during OIDC sign-ins, then read back and restart:');
  const killAfterMs = Math.min(1500, bench.options.duration * 1000);
  let killedAt = Infinity;
  const outcome = await bench.phase(main, 'oidc', concurrency, {
    warmupMs: 500,
    durationMs: killAfterMs + 300,
    recordLimit: 100_000,
    during: {
      ms: killAfterMs,
      action: () => {
        killedAt = Date.now();
        return main.idp.kill();
      },
    },
  });
  const beforeKill = outcome.records.filter((record) => record.at <= killedAt);
  const stored = await checkStore(main.config, bench.secretKey, beforeKill);
  const restarted = await bench.start(main.name, 0, main);
  const { problems: afterProblems, ...afterRestart } = await checkAfterRestart(restarted.setup, beforeKill);
  const result: DurabilityResult = {
    ...stored,
    completedBeforeKill: beforeKill.length,
    afterRestart,
    problems: [...stored.problems, ...afterProblems],
    passed:
      beforeKill.length > 0 &&
      stored.missingSessions + stored.sessionsWithoutTotpFactor + stored.staleReplayMarkers + stored.missingEnrollments === 0 &&
      afterRestart.ssoReuseOk === afterRestart.ssoReuseTried &&
      afterRestart.refreshOk === afterRestart.refreshTried &&
      afterRestart.replayRefused,
  };
  say(`  ${beforeKill.length} sign-ins completed before the kill; missing after kill -9: sessions ${stored.missingSessions}, TOTP factors ${stored.sessionsWithoutTotpFactor}, replay markers ${stored.staleReplayMarkers}, enrollments ${stored.missingEnrollments}`);
  say(`  after restart: SSO reuse ${afterRestart.ssoReuseOk}/${afterRestart.ssoReuseTried}, refresh ${afterRestart.refreshOk}/${afterRestart.refreshTried}, used code refused as replay: ${afterRestart.replayRefused}${result.problems.length ? `\n  problems: ${result.problems.join('\n            ')}` : ''}`);
  return { main: restarted, result };
}

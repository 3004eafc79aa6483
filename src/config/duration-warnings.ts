import type { Config } from './schema.ts';
import type { ExposureWarnings } from './config-file-exposure.ts';

/** RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED". */
const LONGEST_RECOMMENDED_CODE_SECONDS = 600;

/**
 * Lifetimes each valid alone that contradict one another, most often one given in another unit
 * (seconds typed as minutes). Warned, not refused: a configuration that started before must still
 * start after an upgrade, and none of them opens a hole by itself.
 */
export function warnOfContradictoryDurations(config: Config, warnings: ExposureWarnings): void {
  const { session, oidc } = config;
  if (session.idleTimeoutMinutes >= session.absoluteTimeoutHours * 60) {
    warnings.warn(
      { event: 'config.durations-contradict', keys: ['session.idleTimeoutMinutes', 'session.absoluteTimeoutHours'], idleTimeoutMinutes: session.idleTimeoutMinutes, absoluteTimeoutHours: session.absoluteTimeoutHours },
      `session.idleTimeoutMinutes (${session.idleTimeoutMinutes} minutes) is not shorter than session.absoluteTimeoutHours (${session.absoluteTimeoutHours} hours): every session ends at its absolute lifetime, so the idle timeout never signs out an unattended browser. Was it given in seconds or hours?`,
    );
  }
  if (oidc.refreshTokenTtlSeconds <= oidc.accessTokenTtlSeconds) {
    warnings.warn(
      { event: 'config.durations-contradict', keys: ['oidc.refreshTokenTtlSeconds', 'oidc.accessTokenTtlSeconds'], refreshTokenTtlSeconds: oidc.refreshTokenTtlSeconds, accessTokenTtlSeconds: oidc.accessTokenTtlSeconds },
      `oidc.refreshTokenTtlSeconds (${oidc.refreshTokenTtlSeconds}) is not longer than oidc.accessTokenTtlSeconds (${oidc.accessTokenTtlSeconds}): a client that refreshes when its access token expires (most do) finds its refresh token ended and must send the user to sign in again. Both are in seconds`,
    );
  }
  if (oidc.authorizationCodeTtlSeconds > LONGEST_RECOMMENDED_CODE_SECONDS) {
    warnings.warn(
      { event: 'config.durations-contradict', keys: ['oidc.authorizationCodeTtlSeconds'], authorizationCodeTtlSeconds: oidc.authorizationCodeTtlSeconds },
      `oidc.authorizationCodeTtlSeconds (${oidc.authorizationCodeTtlSeconds}) is over 10 minutes: a client redeems its code within seconds, and a longer life only gives a stolen code more time (RFC 6749 recommends at most 600; the default is 60)`,
    );
  }
}

import type { Config } from '../config/schema.ts';
import type { SigningKeyRecord } from './signing-keys.ts';
import { utcEndMinute, utcMinuteWithZone } from '../core/utc-minute.ts';

/**
 * How long a retired key stays published before `keys remove` takes it out of the JWKS, and the
 * setting that makes it so: the longest time something it signed can still be presented here or
 * at a relying party.
 */
export interface RetiredKeyHold {
  ms: number;
  reason: string;
}

export function retiredKeyHold(config: Config): RetiredKeyHold {
  const holds: RetiredKeyHold[] = [
    {
      ms: config.session.absoluteTimeoutHours * 3_600_000,
      reason: `applications send the ID Token of a sign-in back at sign-out (id_token_hint) for as long as its session lasts, up to session.absoluteTimeoutHours (${config.session.absoluteTimeoutHours} h)`,
    },
    { ms: config.oidc.idTokenTtlSeconds * 1000, reason: `ID Tokens are valid for oidc.idTokenTtlSeconds (${config.oidc.idTokenTtlSeconds} s)` },
    { ms: config.saml.assertionLifetimeSeconds * 1000, reason: `SAML assertions are valid for saml.assertionLifetimeSeconds (${config.saml.assertionLifetimeSeconds} s)` },
  ];
  return holds.reduce((longest, hold) => (hold.ms > longest.ms ? hold : longest));
}

/** When a retired key may be removed; undefined when its retirement time is not recorded (retired by an earlier version). */
export function removableFrom(record: Pick<SigningKeyRecord, 'retiredAt'>, hold: RetiredKeyHold): number | undefined {
  return record.retiredAt === undefined ? undefined : record.retiredAt + hold.ms;
}

/** Why a retired key must stay published a while longer, worded for the admin; undefined once it may go. */
export function whyNotRemovableYet(record: Pick<SigningKeyRecord, 'id' | 'retiredAt'>, hold: RetiredKeyHold, now: number): string | undefined {
  const from = removableFrom(record, hold);
  if (from === undefined) {
    // Not knowing when counts as "just now": removing it too early breaks sign-outs, keeping it costs nothing.
    return (
      `when key ${record.id} was retired is not recorded (an earlier version of Stepgate retired it). ` +
      `Keep it until ${hours(hold.ms)} have passed since then, because ${hold.reason}: the keys.activate event that names it as retiredKeyId ` +
      `tells when (npm run cli -- audit --type keys.activate). Then remove it with --force.`
    );
  }
  if (now >= from) return undefined;
  return (
    `key ${record.id} was retired at ${utcMinuteWithZone(record.retiredAt!)} and can be removed from ${utcEndMinute(from)}, because ${hold.reason}. ` +
    'Removed earlier, what it signed no longer verifies: the sign-out of a session from before its retirement then fails. --force removes it now anyway.'
  );
}

function hours(ms: number): string {
  const value = Math.round((ms / 3_600_000) * 100) / 100;
  return `${value} ${value === 1 ? 'hour' : 'hours'}`;
}

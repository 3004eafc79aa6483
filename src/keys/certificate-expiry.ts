import type { Logger } from '../core/log.ts';
import type { LoadedKey, SigningKeys } from './signing-keys.ts';

/** A signing certificate this close to its end is flagged: time to rotate, and for SPs to fetch the new metadata. */
export const CERTIFICATE_WARNING_DAYS = 90;
const DAY_MS = 86_400_000;

/** Whether a certificate has ended or ends within the warning window; undefined when neither. */
export function certificateConcern(notAfter: Date, now: number): 'expired' | 'expiring' | undefined {
  if (notAfter.getTime() <= now) return 'expired';
  return notAfter.getTime() - now <= CERTIFICATE_WARNING_DAYS * DAY_MS ? 'expiring' : undefined;
}

/** "certificate until 2036-05-01", flagged when it has ended or ends soon. */
export function describeCertificate(notAfter: Date, now: number): string {
  const until = `certificate until ${notAfter.toISOString().slice(0, 10)}`;
  const concern = certificateConcern(notAfter, now);
  if (concern === 'expired') return `${until} (EXPIRED)`;
  if (concern === 'expiring') return `${until} (expires in ${Math.ceil((notAfter.getTime() - now) / DAY_MS)} days)`;
  return until;
}

/**
 * At start: the certificate an active key signs SAML with has ended or ends soon. SPs may refuse
 * its signatures once it has ended, and a rotation needs time for them to fetch the new metadata.
 */
export async function warnOfExpiringCertificates(keys: SigningKeys, logger: Pick<Logger, 'warn'>, now: number): Promise<void> {
  for (const key of (await keys.all()).filter((candidate): candidate is LoadedKey & { notAfter: Date } => candidate.status === 'active' && candidate.notAfter !== undefined)) {
    const concern = certificateConcern(key.notAfter, now);
    if (!concern) continue;
    const when = key.notAfter.toISOString();
    logger.warn(
      { event: 'keys.certificate-expiry', keyId: key.id, alg: key.alg, notAfter: when, expired: concern === 'expired' },
      `the certificate of the active ${key.alg} signing key ${key.id} ${concern === 'expired' ? 'expired' : 'expires'} on ${when.slice(0, 10)}: rotate the key (npm run cli -- keys add, then keys activate; see "Rotating signing keys" in the README)`,
    );
  }
}

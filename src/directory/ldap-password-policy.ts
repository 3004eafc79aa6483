/**
 * When an OpenLDAP ppolicy password expires: the entry's pwdChangedTime plus the pwdMaxAge of the policy
 * in effect. slapd sends its own warning (timeBeforeExpiration) only within the policy's
 * pwdExpireWarning, 0 (never) by default, so without this passwordExpiryWarningDays could only narrow
 * slapd's window. The policy is the entry's pwdPolicySubentry, or for entries without one slapd's
 * ppolicy_default, which lives in slapd's configuration where the service account cannot read it: the
 * administrator names it in accountState.defaultPolicyDn.
 */
import type { Entry } from 'ldapts';
import type { Logger } from '../core/log.ts';
import { isNoSuchObject } from './ldap-base-dns.ts';
import { describeError } from './ldap-errors.ts';
import { entryValue, entryValues, type SearchFn } from './ldap-filter.ts';
import { KeptReads } from './kept-reads.ts';

/** What the service search must fetch of a user entry for the expiry (operational: only returned when asked for). */
export const EXPIRY_ATTRIBUTES = ['pwdChangedTime', 'pwdPolicySubentry'];

/** A read policy is used this long before it is read again (an administrator's change to pwdMaxAge shows within it). */
const POLICY_KEPT_MS = 5 * 60_000;
/** After a failed read of a policy, how long sign-ins go without it before it is read again. */
const POLICY_RETRY_MS = 60_000;

export interface PolicyInEffect {
  dn: string;
  /** Where the DN came from, in the words `directory test` shows. */
  from: 'pwdPolicySubentry' | 'accountState.defaultPolicyDn';
}

/** The policy slapd applies to the entry, as far as Stepgate can tell; undefined when neither names one. */
export function policyInEffect(entry: Entry, defaultPolicyDn: string | undefined): PolicyInEffect | undefined {
  const subentry = entryValue(entry, 'pwdPolicySubentry');
  if (subentry) return { dn: subentry, from: 'pwdPolicySubentry' };
  return defaultPolicyDn === undefined ? undefined : { dn: defaultPolicyDn, from: 'accountState.defaultPolicyDn' };
}

const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{4})$/;

/** LDAP GeneralizedTime (slapd writes 20250101120000Z) to epoch ms; undefined when it is not one. */
export function generalizedTimeToMs(value: string | undefined): number | undefined {
  const parts = value === undefined ? null : GENERALIZED_TIME.exec(value.trim());
  if (!parts) return undefined;
  const [, year, month, day, hour, minute = '0', second = '0', fraction = '', zone = 'Z'] = parts;
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), Math.floor(Number(`0.${fraction || '0'}`) * 1000));
  if (Number.isNaN(utc)) return undefined;
  const offsetMinutes = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  return utc - offsetMinutes * 60_000;
}

/**
 * The policy entry's pwdMaxAge in ms; undefined when it is 0 or absent (slapd: passwords never expire).
 * Throws when the entry does not exist or is not a password policy the service account can see.
 */
export async function readPolicyMaxAge(search: SearchFn, dn: string): Promise<number | undefined> {
  let entry: Entry | undefined;
  try {
    entry = (await search(dn, { scope: 'base', attributes: ['objectClass', 'pwdMaxAge'] })).searchEntries[0];
  } catch (err) {
    // slapd answers the same for an entry the service account may not see as for one that does not exist
    if (isNoSuchObject(err)) throw new Error(`${dn} does not exist, or the service account may not read it`);
    throw err;
  }
  if (!entry || !entryValues(entry, 'objectClass').some((objectClass) => objectClass.toLowerCase() === 'pwdpolicy')) {
    throw new Error(`${dn} is not a password policy (no objectClass pwdPolicy visible to the service account)`);
  }
  const seconds = Number(entryValue(entry, 'pwdMaxAge') ?? 0);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/**
 * Each policy's pwdMaxAge, read when a sign-in first needs it and kept POLICY_KEPT_MS (KeptReads). A
 * read that fails is logged: sign-ins go on without the computed expiry (slapd's own warning still
 * shows) and the next one at least POLICY_RETRY_MS later reads it again.
 */
export class PolicyMaxAges {
  readonly #reads: KeptReads<number | undefined>;

  constructor(search: SearchFn, now: () => number, logger?: Logger) {
    this.#reads = new KeptReads({
      read: (dn) => readPolicyMaxAge(search, dn),
      failed: (dn, err) =>
        logger?.warn(
          { event: 'ldap.password-policy.unreadable', dn, error: describeError(err), retryInSeconds: POLICY_RETRY_MS / 1000 },
          'a password policy could not be read: its users are not warned before their passwords expire (unless slapd warns) until it is read again',
        ),
      now,
      keptMs: POLICY_KEPT_MS,
      retryMs: POLICY_RETRY_MS,
    });
  }

  /** pwdMaxAge of the policy `dn` in ms; undefined when its passwords never expire or it cannot be read now. */
  maxAgeOf(dn: string): Promise<number | undefined> {
    return this.#reads.get(dn);
  }
}

/**
 * Whether slapd holds the entry's pwdAccountLockedTime as a lock now: the disabled value always; any
 * other time while pwdLockoutDuration has not run out since it (0: until an administrator removes it).
 * An expired lock stays on the entry until the next bind, so its presence alone says nothing. When the
 * policy cannot be told or read, the lock counts: refusing is the side that keeps a lock.
 */
export async function lockInEffect(search: SearchFn, entry: Entry, defaultPolicyDn: string | undefined, disabledTime: string, now: number): Promise<boolean> {
  const lockedTime = entryValue(entry, 'pwdAccountLockedTime');
  if (lockedTime === undefined) return false;
  if (lockedTime === disabledTime) return true;
  const lockedAt = generalizedTimeToMs(lockedTime);
  const policy = policyInEffect(entry, defaultPolicyDn);
  if (lockedAt === undefined || policy === undefined) return true;
  const durationSeconds = await search(policy.dn, { scope: 'base', attributes: ['pwdLockoutDuration'] }).then(
    ({ searchEntries: [policyEntry] }) => (policyEntry ? Number(entryValue(policyEntry, 'pwdLockoutDuration') ?? 0) : 0),
    () => 0,
  );
  return !Number.isSafeInteger(durationSeconds) || durationSeconds <= 0 || now < lockedAt + durationSeconds * 1000;
}

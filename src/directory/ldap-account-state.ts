/**
 * What a user bind means for the account: OpenLDAP ppolicy (response control + pwdAccountLockedTime)
 * or Active Directory (bind error data codes + userAccountControl and friends).
 *
 * A state is only ever revealed when the directory verified the password. Both slapd's ppolicy and AD
 * refuse a locked account BEFORE checking the password (slapd answers "accountLocked" and AD "data 775"
 * to any password), so those answers stay 'invalid-credentials' and are only logged.
 *
 * Only some refusals judge the password at all: a busy or stopping server answers a bind with a result
 * code too, and treating that as a wrong password would lock out users who typed the right one.
 */
import { PasswordPolicyError, type Entry, type PasswordPolicyValue } from 'ldapts';
import type { AccountState } from './directory.ts';
import { entryValue } from './ldap-filter.ts';
import { EXPIRY_ATTRIBUTES, generalizedTimeToMs } from './ldap-password-policy.ts';


export type Verdict =
  | { kind: 'ok'; passwordExpiresInDays?: number }
  /** `graceLogin`: the bind succeeded only by spending one of ppolicy's grace sign-ins of an expired password. */
  | { kind: 'state'; state: AccountState; graceLogin?: true }
  | { kind: 'invalid'; reason: string };

const DAY_MS = 86_400_000;
/** ppolicy's marker for "locked until an administrator unlocks it", used by admin tools to disable accounts. */
export const PPOLICY_DISABLED_TIME = '000001010000Z';
const LDAP_INVALID_CREDENTIALS = 49;
/**
 * OpenLDAP 2.5 ppolicy's validity period of an account (operational: only returned when asked for).
 * Outside it slapd refuses every bind, before the password, as it does a locked account: the way to
 * end a contractor's account on a date, as AD's accountExpires is.
 */
const VALIDITY_ATTRIBUTES = ['pwdStartTime', 'pwdEndTime'];

/** Attributes the service search must fetch for each flavour (the id attribute is added by the caller). */
export function stateAttributes(flavour: 'openldap-ppolicy' | 'active-directory' | 'none'): string[] {
  if (flavour === 'openldap-ppolicy') return ['pwdAccountLockedTime', ...VALIDITY_ATTRIBUTES, ...EXPIRY_ATTRIBUTES];
  if (flavour === 'active-directory') {
    return ['userAccountControl', 'msDS-User-Account-Control-Computed', 'msDS-UserPasswordExpiryTimeComputed', 'pwdLastSet', 'accountExpires', 'lockoutTime'];
  }
  return [];
}

function warning(msLeft: number, warningDays: number): Verdict {
  const days = Math.ceil(msLeft / DAY_MS);
  return days <= warningDays ? { kind: 'ok', passwordExpiresInDays: days } : { kind: 'ok' };
}

/**
 * ppolicy verdict for a user bind. `lockedTime` is pwdAccountLockedTime (re-read after a successful
 * bind): if slapd let the bind through, its policy does not enforce the lock, but the marker is honoured.
 * `msLeftByPolicy`: the time left computed from pwdChangedTime and the policy's pwdMaxAge
 * (ldap-password-policy.ts), as slapd's own timeBeforeExpiration comes only within its pwdExpireWarning.
 */
export function ppolicyVerdict(input: { bindOk: boolean; resultCode?: number; control?: PasswordPolicyValue; lockedTime?: string; warningDays: number; msLeftByPolicy?: number }): Verdict {
  const { control } = input;
  if (!input.bindOk) {
    if (input.resultCode !== LDAP_INVALID_CREDENTIALS) return { kind: 'invalid', reason: `bind-result-${input.resultCode}` };
    // slapd checks expiry only after the password matched, and refuses the bind once no grace sign-in is left
    if (control?.error === PasswordPolicyError.PasswordExpired) return { kind: 'state', state: 'password-expired-no-grace' };
    if (control?.error === PasswordPolicyError.AccountLocked) return { kind: 'invalid', reason: 'locked-password-not-verified' };
    // without ppolicy_use_lockout slapd hides the lock; the marker read by the service search tells us
    return { kind: 'invalid', reason: input.lockedTime ? 'wrong-password-or-locked' : 'wrong-password' };
  }
  if (input.lockedTime === PPOLICY_DISABLED_TIME) return { kind: 'state', state: 'disabled' };
  if (input.lockedTime) return { kind: 'state', state: 'locked' };
  if (control?.error === PasswordPolicyError.ChangeAfterReset) return { kind: 'state', state: 'must-change' };
  // a grace sign-in: the password already expired, the remaining grace binds are for changing it
  if (control?.graceAuthNsRemaining !== undefined) return { kind: 'state', state: 'password-expired', graceLogin: true };
  const msLeft = [control?.timeBeforeExpiration === undefined ? undefined : control.timeBeforeExpiration * 1000, input.msLeftByPolicy].filter((ms) => ms !== undefined);
  // slapd let the bind through, so the password has not expired by its clock: at worst it expires now
  return msLeft.length === 0 ? { kind: 'ok' } : warning(Math.max(0, Math.min(...msLeft)), input.warningDays);
}

/** The `data NNN` sub-code of an AD bind error ("80090308: LdapErr: …, data 52e, v4563"). */
export function adDataCode(message: string): string | undefined {
  return /\bdata ([0-9a-f]{3,8})\b/i.exec(message)?.[1]?.toLowerCase();
}

/** AD answers these only when the password was right (775, locked, comes for any password). */
const AD_STATES: Record<string, AccountState> = {
  '530': 'disabled', // not permitted to log on at this time
  '531': 'disabled', // not permitted to log on at this workstation
  '532': 'password-expired',
  '533': 'disabled',
  '701': 'expired',
  '773': 'must-change',
};

export function adBindFailureVerdict(message: string): Verdict {
  const code = adDataCode(message);
  const state = code ? AD_STATES[code] : undefined;
  if (state) return { kind: 'state', state };
  return { kind: 'invalid', reason: code === '775' ? 'locked-password-not-verified' : code ? `ad-data-${code}` : 'wrong-password' };
}

const UF_ACCOUNTDISABLE = 0x2;
const UF_LOCKOUT = 0x10;
const UF_INTERDOMAIN_TRUST_ACCOUNT = 0x800;
const UF_WORKSTATION_TRUST_ACCOUNT = 0x1000;
const UF_SERVER_TRUST_ACCOUNT = 0x2000;
const UF_DONT_EXPIRE_PASSWD = 0x10000;
const UF_SMARTCARD_REQUIRED = 0x40000;
/**
 * With any of these the password never has to change, pwdLastSet 0 included (MS-SAMR 3.1.5.14.4,
 * PasswordMustChange): AD lets such an account bind, so "must change" would be Stepgate's alone.
 */
const PASSWORD_NEVER_MUST_CHANGE = UF_DONT_EXPIRE_PASSWD | UF_SMARTCARD_REQUIRED | UF_INTERDOMAIN_TRUST_ACCOUNT | UF_WORKSTATION_TRUST_ACCOUNT | UF_SERVER_TRUST_ACCOUNT;
const UF_PASSWORD_EXPIRED = 0x800000;
const FILETIME_NEVER = 0x7fffffffffffffffn;
const FILETIME_EPOCH_MS = 11_644_473_600_000n;

/** AD FILETIME (100 ns since 1601) to epoch ms; undefined for 0 / "never". */
function fileTimeToMs(value: string | undefined): number | undefined {
  if (!value || !/^-?\d+$/.test(value)) return undefined;
  const t = BigInt(value);
  if (t <= 0n || t >= FILETIME_NEVER) return undefined;
  return Number(t / 10_000n - FILETIME_EPOCH_MS);
}

function adAccountExpired(entry: Entry, now: number): boolean {
  const accountExpires = fileTimeToMs(entryValue(entry, 'accountExpires'));
  return accountExpires !== undefined && accountExpires <= now;
}

/**
 * AD verdict after a successful bind, from the entry read by the service search. `maxPwdAgeMs` is the
 * domain's maxPwdAge, used when msDS-UserPasswordExpiryTimeComputed is not available.
 */
export function adEntryVerdict(entry: Entry, now: number, warningDays: number, maxPwdAgeMs?: number): Verdict {
  const uac = Number(entryValue(entry, 'userAccountControl') ?? 0);
  const computedRaw = entryValue(entry, 'msDS-User-Account-Control-Computed');
  const flags = uac | Number(computedRaw ?? 0);
  if (uac & UF_ACCOUNTDISABLE) return { kind: 'state', state: 'disabled' };
  // lockoutTime stays set after the lockout ends, so only trust it when the computed flag is missing
  if (flags & UF_LOCKOUT || (computedRaw === undefined && (fileTimeToMs(entryValue(entry, 'lockoutTime')) ?? 0) > 0)) return { kind: 'state', state: 'locked' };
  if (adAccountExpired(entry, now)) return { kind: 'state', state: 'expired' };
  const pwdLastSet = entryValue(entry, 'pwdLastSet');
  const neverMustChange = (uac & PASSWORD_NEVER_MUST_CHANGE) !== 0;
  if (pwdLastSet === '0' && !neverMustChange) return { kind: 'state', state: 'must-change' };
  if (flags & UF_PASSWORD_EXPIRED) return { kind: 'state', state: 'password-expired' };
  if (neverMustChange) return { kind: 'ok' };
  const lastSet = fileTimeToMs(pwdLastSet);
  // AD's own answer, "never" included (a fine-grained policy that never expires passwords, under a
  // domain maxPwdAge that does): only without it is the expiry worked out from the domain's maxPwdAge.
  const computed = entryValue(entry, 'msDS-UserPasswordExpiryTimeComputed');
  const expiresAt = computed !== undefined ? fileTimeToMs(computed) : lastSet !== undefined && maxPwdAgeMs ? lastSet + maxPwdAgeMs : undefined;
  if (expiresAt === undefined) return { kind: 'ok' };
  if (expiresAt <= now) return { kind: 'state', state: 'password-expired' };
  return warning(expiresAt - now, warningDays);
}

/** AD keeps maxPwdAge on the domain head as a negative interval in 100 ns; 0 or "never" gives undefined. */
export function maxPwdAgeToMs(value: string | undefined): number | undefined {
  if (!value || !/^-?\d+$/.test(value)) return undefined;
  const v = BigInt(value);
  const abs = v < 0n ? -v : v;
  if (abs === 0n || abs >= FILETIME_NEVER) return undefined;
  return Number(abs / 10_000n);
}

/** Whether `now` is before the entry's pwdStartTime or at or after its pwdEndTime, when it has them. */
function outsideValidityPeriod(entry: Entry, now: number): boolean {
  const start = generalizedTimeToMs(entryValue(entry, 'pwdStartTime'));
  const end = generalizedTimeToMs(entryValue(entry, 'pwdEndTime'));
  return (start !== undefined && now < start) || (end !== undefined && now >= end);
}

/**
 * Whether a user with this entry is administratively disabled, or past its end date (AD's accountExpires,
 * ppolicy's pwdEndTime; or before ppolicy's pwdStartTime): as at the
 * password step, such an account gets nothing more (findUserById returns null, so SSO reuse, refresh
 * and userinfo end). A temporary lockout or an expired password does not end what was already signed in.
 */
export function isDisabledOrExpired(entry: Entry, flavour: 'openldap-ppolicy' | 'active-directory' | 'none', now: number): boolean {
  if (flavour === 'openldap-ppolicy') return entryValue(entry, 'pwdAccountLockedTime') === PPOLICY_DISABLED_TIME || outsideValidityPeriod(entry, now);
  if (flavour !== 'active-directory') return false;
  return (Number(entryValue(entry, 'userAccountControl') ?? 0) & UF_ACCOUNTDISABLE) !== 0 || adAccountExpired(entry, now);
}

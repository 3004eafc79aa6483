/**
 * Password changes with the directory's own mechanism: the LDAP Password Modify extended operation
 * (RFC 3062) for OpenLDAP and others, or AD's unicodePwd delete-old/add-new modify. Server refusals
 * are turned into a reason and plain words for the user.
 */
import { Attribute, BerWriter, Change, PasswordPolicyControl, PasswordPolicyError, type Client } from 'ldapts';
import type { PasswordChangeOutcome, PasswordRefusalReason } from './directory.ts';
import { adDataCode } from './ldap-account-state.ts';
import { LdapUnavailableError, bindResultLeftUnjudged, describeError, isLdapResult } from './ldap-errors.ts';

const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

export const MESSAGES = {
  wrongCurrent: 'Your current password is not correct.',
  expiredNoGrace: 'Your password has expired and the directory does not let you change it yourself. Ask your helpdesk to reset it.',
  graceLapsed: 'The time to change your expired password in this sign-in has run out, and the directory no longer accepts the expired password. Ask your helpdesk to reset it.',
  notAllowed: 'You are not allowed to change your password here. Ask your helpdesk.',
  oldRequired: 'Enter your current password.',
  quality: 'The new password does not meet the password rules (for example length or the mix of characters).',
  tooShort: 'The new password is too short.',
  tooYoung: 'Your password was changed too recently. Try again later.',
  history: 'You have used this password before. Choose a password you have not used recently.',
  adPolicy: 'The new password does not meet the password policy: it may be too short, not complex enough, used before, or changed too recently.',
  needsTls: 'Password changes need an encrypted (TLS) connection to the directory; ask your helpdesk.',
  newRequired: 'Enter a new password.',
  unavailable: 'The directory is not reachable right now. Try again later.',
  generic: 'The directory refused the new password.',
} as const;

/**
 * Why the directory refused a change. Each reason has its words for the user (REFUSAL_TEXT) and the
 * seam's reason (SEAM_REASON), which is what is audited and decides whether the refusal counts as a
 * failed password guess, never the words: a locked account is told what a wrong current password is
 * told (the page does not reveal the lock), yet the directory did not say the password was wrong.
 */
export type RefusalReason = keyof typeof MESSAGES | 'accountLocked';

const REFUSAL_TEXT: Readonly<Record<RefusalReason, string>> = { ...MESSAGES, accountLocked: MESSAGES.wrongCurrent };

/** Several of the directory's refusals are one reason in the audit log (README "Reading the audit log"). */
const SEAM_REASON: Readonly<Record<RefusalReason, PasswordRefusalReason>> = {
  wrongCurrent: 'wrong-current',
  accountLocked: 'account-locked',
  expiredNoGrace: 'password-expired',
  graceLapsed: 'grace-lapsed',
  notAllowed: 'not-allowed',
  oldRequired: 'incomplete',
  newRequired: 'incomplete',
  quality: 'rules',
  tooShort: 'rules',
  adPolicy: 'rules',
  tooYoung: 'too-young',
  history: 'history',
  needsTls: 'needs-tls',
  unavailable: 'directory-unavailable',
  generic: 'refused',
};

const BY_PPOLICY_ERROR: Readonly<Record<number, RefusalReason>> = {
  [PasswordPolicyError.PasswordExpired]: 'expiredNoGrace',
  [PasswordPolicyError.AccountLocked]: 'accountLocked',
  [PasswordPolicyError.PasswordModNotAllowed]: 'notAllowed',
  [PasswordPolicyError.MustSupplyOldPassword]: 'oldRequired',
  [PasswordPolicyError.InsufficientPasswordQuality]: 'quality',
  [PasswordPolicyError.PasswordTooShort]: 'tooShort',
  [PasswordPolicyError.PasswordTooYoung]: 'tooYoung',
  [PasswordPolicyError.PasswordInHistory]: 'history',
};

/** Server texts, for servers that send no ppolicy control (first match wins). */
const BY_TEXT: Array<[RegExp, RefusalReason]> = [
  [/history|not being changed from existing/i, 'history'],
  [/too short/i, 'tooShort'],
  [/too young|too soon|minimum age/i, 'tooYoung'],
  [/quality|complex|strength/i, 'quality'],
  [/verify old password|old password|invalid credentials/i, 'wrongCurrent'],
  [/confidentiality|requires? (tls|ssl)|strong(er)? auth/i, 'needsTls'],
];

/** A refused change: the seam's reason, and plain words for the user. */
export function refusal(reason: RefusalReason): PasswordChangeOutcome {
  return { ok: false, reason: SEAM_REASON[reason], message: REFUSAL_TEXT[reason] };
}

export const WRONG_CURRENT = refusal('wrongCurrent');

/** Why a change was refused; the ppolicy control code is more precise than the text. */
export function passwordChangeRefusalReason(err: unknown, ppolicyError?: number): RefusalReason {
  const byControl = ppolicyError === undefined ? undefined : BY_PPOLICY_ERROR[ppolicyError];
  if (byControl) return byControl;
  const text = err instanceof Error ? err.message : String(err);
  const ad = adDataCode(text);
  if (/^0000052d/i.test(text) || ad === '52d') return 'adPolicy';
  if (/^00000056/i.test(text) || ad === '56' || ad === '52e') return 'wrongCurrent';
  if (/^0000001f/i.test(text)) return 'needsTls';
  return BY_TEXT.find(([re]) => re.test(text))?.[1] ?? 'generic';
}

/** PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0], oldPasswd [1], newPasswd [2] } (all OCTET STRING). */
export function passwordModifyRequestValue(userDn: string, oldPassword: string, newPassword: string): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeString(userDn, 0x80);
  w.writeString(oldPassword, 0x81);
  w.writeString(newPassword, 0x82);
  w.endSequence();
  return w.buffer;
}

/** AD's unicodePwd value: the password in double quotes, UTF-16LE. */
export function unicodePwdValue(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/**
 * OpenLDAP: bind as the user (with the ppolicy control: a must-change session may still change the
 * password), then Password Modify with the old password. Transport failures are rethrown.
 * `heldBindLost`: the sign-in's grace bind was kept for this change but is gone (its time ran out, a restart).
 */
export async function changeWithPasswordModify(client: Client, userDn: string, oldPassword: string, newPassword: string, heldBindLost = false): Promise<PasswordChangeOutcome> {
  const bindControl = new PasswordPolicyControl();
  try {
    await client.bind(userDn, oldPassword, bindControl);
  } catch (err) {
    if (!isLdapResult(err)) throw err;
    // busy, unavailable, other: the password was not checked, so no guess to count (as at sign-in)
    if (bindResultLeftUnjudged(err.code)) throw new LdapUnavailableError(`bind as ${userDn} not judged: ${describeError(err)}`);
    // ppolicy refuses a locked account's bind before it checks the password (ppolicy_use_lockout).
    const policyError = bindControl.value?.error;
    if (policyError === PasswordPolicyError.PasswordExpired) return refusal(heldBindLost ? 'graceLapsed' : 'expiredNoGrace');
    if (policyError === PasswordPolicyError.AccountLocked) return refusal('accountLocked');
    return WRONG_CURRENT;
  }
  return passwordModify(client, userDn, oldPassword, newPassword);
}

/** Password Modify on a connection bound as the user; slapd checks the old password itself. */
export async function passwordModify(client: Client, userDn: string, oldPassword: string, newPassword: string): Promise<PasswordChangeOutcome> {
  const control = new PasswordPolicyControl();
  try {
    await client.exop(PASSWORD_MODIFY_OID, passwordModifyRequestValue(userDn, oldPassword, newPassword), control);
    return { ok: true };
  } catch (err) {
    if (!isLdapResult(err)) throw err;
    return refusal(passwordChangeRefusalReason(err, control.value?.error));
  }
}

/**
 * Active Directory: one modify deleting the old and adding the new unicodePwd. AD checks the old
 * value itself; the connection must be encrypted or AD refuses any unicodePwd change.
 */
export async function changeWithUnicodePwd(client: Client, secure: boolean, userDn: string, oldPassword: string, newPassword: string): Promise<PasswordChangeOutcome> {
  if (!secure) return refusal('needsTls');
  try {
    await client.modify(userDn, [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(oldPassword)] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(newPassword)] }) }),
    ]);
    return { ok: true };
  } catch (err) {
    if (!isLdapResult(err)) throw err;
    return refusal(passwordChangeRefusalReason(err));
  }
}

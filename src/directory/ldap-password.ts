/**
 * Password changes with the directory's own mechanism: the LDAP Password Modify extended operation
 * (RFC 3062) for OpenLDAP and others, or AD's unicodePwd delete-old/add-new modify. Server refusals
 * are turned into plain words for the user.
 */
import { Attribute, BerWriter, Change, PasswordPolicyControl, PasswordPolicyError, type Client } from 'ldapts';
import type { PasswordChangeOutcome } from './directory.ts';
import { adDataCode } from './ldap-account-state.ts';
import { isLdapResult } from './ldap-pool.ts';

export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

export const MESSAGES = {
  wrongCurrent: 'Your current password is not correct.',
  expiredNoGrace: 'Your password has expired and the directory does not let you change it yourself. Ask your administrator to reset it.',
  notAllowed: 'You are not allowed to change your password here. Ask your administrator.',
  oldRequired: 'Enter your current password.',
  quality: 'The new password does not meet the password rules (for example length or the mix of characters).',
  tooShort: 'The new password is too short.',
  tooYoung: 'Your password was changed too recently. Try again later.',
  history: 'You have used this password before. Choose a password you have not used recently.',
  adPolicy: 'The new password does not meet the password policy: it may be too short, not complex enough, used before, or changed too recently.',
  needsTls: 'Password changes need an encrypted (TLS) connection to the directory; ask your administrator.',
  generic: 'The directory refused the new password.',
} as const;

const BY_PPOLICY_ERROR: Record<number, string> = {
  [PasswordPolicyError.PasswordExpired]: MESSAGES.expiredNoGrace,
  [PasswordPolicyError.AccountLocked]: MESSAGES.wrongCurrent,
  [PasswordPolicyError.PasswordModNotAllowed]: MESSAGES.notAllowed,
  [PasswordPolicyError.MustSupplyOldPassword]: MESSAGES.oldRequired,
  [PasswordPolicyError.InsufficientPasswordQuality]: MESSAGES.quality,
  [PasswordPolicyError.PasswordTooShort]: MESSAGES.tooShort,
  [PasswordPolicyError.PasswordTooYoung]: MESSAGES.tooYoung,
  [PasswordPolicyError.PasswordInHistory]: MESSAGES.history,
};

/** Server texts, for servers that send no ppolicy control (first match wins). */
const BY_TEXT: Array<[RegExp, string]> = [
  [/history|not being changed from existing/i, MESSAGES.history],
  [/too short/i, MESSAGES.tooShort],
  [/too young|too soon|minimum age/i, MESSAGES.tooYoung],
  [/quality|complex|strength/i, MESSAGES.quality],
  [/verify old password|old password|invalid credentials/i, MESSAGES.wrongCurrent],
  [/confidentiality|requires? (tls|ssl)|strong(er)? auth/i, MESSAGES.needsTls],
];

/** Plain words for a failed change; the ppolicy control code is more precise than the text. */
/** A refused change in plain words; it counts as a failed guess only when the directory said the current password is wrong. */
export function refusal(message: string): PasswordChangeOutcome {
  return { ok: false, message, wrongCurrent: message === MESSAGES.wrongCurrent };
}

export const WRONG_CURRENT = refusal(MESSAGES.wrongCurrent);

export function passwordChangeMessage(err: unknown, ppolicyError?: number): string {
  if (ppolicyError !== undefined && BY_PPOLICY_ERROR[ppolicyError]) return BY_PPOLICY_ERROR[ppolicyError];
  const text = err instanceof Error ? err.message : String(err);
  const ad = adDataCode(text);
  if (/^0000052d/i.test(text) || ad === '52d') return MESSAGES.adPolicy;
  if (/^00000056/i.test(text) || ad === '56' || ad === '52e') return MESSAGES.wrongCurrent;
  if (/^0000001f/i.test(text)) return MESSAGES.needsTls;
  return BY_TEXT.find(([re]) => re.test(text))?.[1] ?? MESSAGES.generic;
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
 */
export async function changeWithPasswordModify(client: Client, userDn: string, oldPassword: string, newPassword: string): Promise<PasswordChangeOutcome> {
  const bindControl = new PasswordPolicyControl();
  try {
    await client.bind(userDn, oldPassword, bindControl);
  } catch (err) {
    if (!isLdapResult(err)) throw err;
    const expired = bindControl.value?.error === PasswordPolicyError.PasswordExpired;
    return expired ? refusal(MESSAGES.expiredNoGrace) : WRONG_CURRENT;
  }
  const control = new PasswordPolicyControl();
  try {
    await client.exop(PASSWORD_MODIFY_OID, passwordModifyRequestValue(userDn, oldPassword, newPassword), control);
    return { ok: true };
  } catch (err) {
    if (!isLdapResult(err)) throw err;
    return refusal(passwordChangeMessage(err, control.value?.error));
  }
}

/**
 * Active Directory: one modify deleting the old and adding the new unicodePwd. AD checks the old
 * value itself; the connection must be encrypted or AD refuses any unicodePwd change.
 */
export async function changeWithUnicodePwd(client: Client, secure: boolean, userDn: string, oldPassword: string, newPassword: string): Promise<PasswordChangeOutcome> {
  if (!secure) return refusal(MESSAGES.needsTls);
  try {
    await client.modify(userDn, [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(oldPassword)] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(newPassword)] }) }),
    ]);
    return { ok: true };
  } catch (err) {
    if (!isLdapResult(err)) throw err;
    return refusal(passwordChangeMessage(err));
  }
}

import { z } from 'zod';
import { createGuardrails, ScureBase32Plugin } from 'otplib';
import { configSchema } from '../../config/schema.ts';
import type { EnvelopeFormat } from '../../core/password-envelope.ts';
import type { TotpParameters } from './totp-codes.ts';
import { MAX_LOGIN_LENGTH } from '../../directory/directory.ts';
import { plainIssueMessage } from '../../config/plain-issue.ts';

export const TOTP_EXPORT: EnvelopeFormat = { id: 'stepgate-totp-export', description: 'a Stepgate TOTP export' };

/** What the encrypted file holds per user. Backup codes are not included: their hashes are keyed to this installation. */
export interface ExportedUser extends TotpParameters {
  userId: string;
  username: string;
  secret: string;
  createdAt: number;
}

/** otplib's own bounds (16 to 64 bytes): a secret outside them makes every code check throw, not fail. */
const { MIN_SECRET_BYTES, MAX_SECRET_BYTES } = createGuardrails();
/** The decoder otplib checks codes with: what it reads here, it reads at sign-in. */
const base32 = new ScureBase32Plugin();

const secretSchema = z.string().superRefine((secret, context) => {
  let bytes: number;
  try {
    bytes = base32.decode(secret).length;
  } catch {
    context.addIssue({ code: 'custom', message: 'is not a Base32 secret (letters A-Z and digits 2-7, no spaces)' });
    return;
  }
  if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    context.addIssue({ code: 'custom', message: `holds ${bytes} bytes; a TOTP secret has ${MIN_SECRET_BYTES} (${MIN_SECRET_BYTES * 8} bits) to ${MAX_SECRET_BYTES}` });
  }
});

/** The digits, period and algorithm a configuration may set: a registration outside them could not have been made by Stepgate. */
const configured = configSchema.shape.mfa.unwrap().shape.totp.unwrap().shape;

/** The last instant a JavaScript Date can hold: beyond it every date formatting throws. */
const LAST_DATE_MS = 8.64e15;

const exportedUserSchema = z.strictObject({
  userId: z.string().min(1),
  // No longer than a sign-in name can be: the stored name is what mfa list shows until the user's next code.
  username: z.string().min(1).max(MAX_LOGIN_LENGTH),
  secret: secretSchema,
  digits: configured.digits.removeDefault(),
  periodSeconds: configured.periodSeconds.removeDefault(),
  algorithm: configured.algorithm.removeDefault(),
  /** Epoch milliseconds, as the registration was confirmed: a date (pages and `mfa list` show it). */
  createdAt: z.number().int().nonnegative().max(LAST_DATE_MS, 'must be a date (epoch milliseconds) no later than the year 275760'),
}) satisfies z.ZodType<ExportedUser>;

/** Each user's record is checked on its own, so that a problem can name whose registration it is. */
const payloadSchema = z.strictObject({ users: z.array(z.unknown()) });

/** How a record is named in a problem: by user id (and name) when the record has them, else by its place in the file. */
function recordName(record: unknown, index: number): string {
  const { userId, username } = (typeof record === 'object' && record !== null ? record : {}) as { userId?: unknown; username?: unknown };
  if (typeof userId !== 'string' || userId === '') return `registration #${index + 1} in the file`;
  return `the registration of user id ${userId}${typeof username === 'string' && username !== '' ? ` ("${username}")` : ''}`;
}

/** The file's registrations, or every problem that keeps it from being imported (each a sentence naming the record and field). */
export function readPayload(payload: unknown): { users: ExportedUser[]; problems: [] } | { users?: undefined; problems: string[] } {
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => `the file: ${issue.path.join('.') || '(top level)'}: ${plainIssueMessage(issue)}`) };
  const users: ExportedUser[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  parsed.data.users.forEach((record, index) => {
    const user = exportedUserSchema.safeParse(record);
    if (!user.success) {
      problems.push(...user.error.issues.map((issue) => `${recordName(record, index)}: ${issue.path.join('.') || '(record)'}: ${plainIssueMessage(issue)}`));
      return;
    }
    // Only one could be stored: which one would depend on the order in the file.
    if (seen.has(user.data.userId)) problems.push(`${recordName(record, index)}: userId: the file has another registration of this user`);
    seen.add(user.data.userId);
    users.push(user.data);
  });
  return problems.length ? { problems } : { users, problems: [] };
}

import { z } from 'zod';

/** Which placeholders each text may use: {username} is known only once the password step is behind. */
const PLACEHOLDERS = {
  signInHint: ['app'],
  totpPrompt: ['username', 'app'],
  helpdesk: [],
} as const satisfies Record<string, readonly string[]>;

type MessageKey = keyof typeof PLACEHOLDERS;
export type Placeholder = 'username' | 'app';

function messageText(key: MessageKey) {
  const allowed: readonly string[] = PLACEHOLDERS[key];
  return z
    .string()
    .trim()
    .min(1)
    .max(500)
    .superRefine((text, ctx) => {
      for (const [, name] of text.matchAll(/\{([^{}]*)\}/g)) {
        if (!allowed.includes(name!)) {
          ctx.addIssue({ code: 'custom', message: allowed.length ? `unknown placeholder {${name}}: this text may use ${allowed.map((p) => `{${p}}`).join(' and ')}` : `unknown placeholder {${name}}: this text takes none` });
        }
      }
    })
    .optional();
}

/**
 * Texts an administrator puts on the end-user pages, as the MFA servers their users know allow
 * ("{username}, enter the code from your app"). Plain text: it is escaped like every other value.
 */
export const userMessagesSchema = z
  .object({
    /** On the password page, under "to continue to <app>": e.g. which account to use. */
    signInHint: messageText('signInHint'),
    /** On the code page, instead of the standard sentence. */
    totpPrompt: messageText('totpPrompt'),
    /** On every error and refusal page: whom to contact. */
    helpdesk: messageText('helpdesk'),
  })
  .default({});

export type UserMessages = z.infer<typeof userMessagesSchema>;

/** The text with its placeholders filled in (values are plain text; the page escapes the result). */
export function fillMessage(text: string, values: Partial<Record<Placeholder, string>>): string {
  return text.replace(/\{(username|app)\}/g, (_match, name: Placeholder) => values[name] ?? '');
}

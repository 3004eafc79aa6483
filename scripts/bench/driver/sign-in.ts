/**
 * The protocol-neutral middle of a sign-in as a browser sees it: the password page, then the TOTP
 * page, each found by its form fields, submitted with the page's own hidden fields (CSRF token).
 */
import { BenchError, encodeForm, formWith, type HttpClient, type Jar, type Reply } from './http.ts';
import type { UserPicker } from './users.ts';
import { userPassword } from '../ldap.ts';

/** Field name of the one-time code on the TOTP page. */
export const CODE_FIELD = 'code';

export interface Credentials {
  user: number;
  step: number;
}

/** The password page answered for `user`; returns the page that follows (the TOTP page, or the setup of a first second factor). */
export function submitPassword(http: HttpClient, jar: Jar, page: Reply, user: number): Promise<Reply> {
  const login = formWith(page, 'password', 'password page');
  return http.follow('POST', login.action, { jar, body: encodeForm({ ...login.fields, username: `user${user}`, password: userPassword(user) }) });
}

/** A page with a code field (`step` names it) answered with `code`; returns the reply after it. */
export async function submitCode(http: HttpClient, jar: Jar, page: Reply, code: string, step: string): Promise<Reply> {
  const form = formWith(page, CODE_FIELD, step);
  const reply = await http.follow('POST', form.action, { jar, body: encodeForm({ ...form.fields, [CODE_FIELD]: code }) });
  if (reply.status >= 400) throw new BenchError(`${step} submit`, `HTTP ${reply.status}: ${reply.body.replace(/\s+/g, ' ').slice(0, 200)}`);
  return reply;
}

/**
 * From the first IdP page to the reply after the TOTP step (a redirect out of the IdP, or an auto-post
 * form), for the next user in turn or for `as` (the self-check signs a user in twice).
 */
export async function passwordThenTotp(http: HttpClient, jar: Jar, first: Reply, users: UserPicker, as?: number): Promise<{ reply: Reply } & Credentials> {
  const { user, step } = as === undefined ? users.withTotpStep() : users.withTotpStepFor(as);
  const afterPassword = await submitPassword(http, jar, first, user);
  const reply = await submitCode(http, jar, afterPassword, users.code(user, step), 'totp page');
  return { reply, user, step };
}

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

/** From the first IdP page to the reply after the TOTP step (a redirect out of the IdP, or an auto-post form). */
export async function passwordThenTotp(http: HttpClient, jar: Jar, first: Reply, users: UserPicker): Promise<{ reply: Reply } & Credentials> {
  const { user, step } = users.withTotpStep();
  const login = formWith(first, 'password', 'password page');
  const afterPassword = await http.follow('POST', login.action, { jar, body: encodeForm({ ...login.fields, username: `user${user}`, password: userPassword(user) }) });
  const mfa = formWith(afterPassword, CODE_FIELD, 'totp page');
  const reply = await http.follow('POST', mfa.action, { jar, body: encodeForm({ ...mfa.fields, [CODE_FIELD]: users.code(user, step) }) });
  if (reply.status >= 400) throw new BenchError('totp submit', `HTTP ${reply.status}: ${reply.body.replace(/\s+/g, ' ').slice(0, 200)}`);
  return { reply, user, step };
}

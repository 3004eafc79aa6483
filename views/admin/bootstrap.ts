import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { csrfField, errorBox, field, FORM_ERROR_ID } from '../partials/form.ts';

export type BootstrapField = 'secret' | 'username' | 'password' | 'confirmPassword';

/** A refusal of the form; `field`: the one it is about (none: the form as a whole, e.g. too many tries). */
export interface BootstrapProblem {
  field?: BootstrapField;
  message: string;
}

/** "a, b and c" */
function listed(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/**
 * `passwordRules`: in the words of passwordRuleWords ("be at least 14 characters long"), shown under
 * the Password label. After a refusal every problem is listed at once and the fields they are about
 * are marked; the focus goes to the secret, which is always typed again (it is never sent back).
 */
export function bootstrapPage(options: { csrf: string; passwordRules: readonly string[]; problems?: readonly BootstrapProblem[]; username?: string }): SafeHtml {
  const problems = options.problems ?? [];
  const invalid = (name: BootstrapField) => problems.some((problem) => problem.field === name);
  return layout({
    title: 'Create the first administrator',
    body: html`<h1>Create the first administrator</h1>
<p>Enter the one-time bootstrap secret that Stepgate printed when it first started.</p>
${errorBox(problems.map((problem) => problem.message))}
<form method="post" action="/admin/bootstrap">
${csrfField(options.csrf)}
${field({ name: 'secret', label: 'Bootstrap secret', type: 'password', autocomplete: 'off', autofocus: true, invalid: invalid('secret'), describedBy: problems.length ? [FORM_ERROR_ID] : [] })}
${field({ name: 'username', label: 'Administrator username', value: options.username, autocomplete: 'username', verbatim: true, invalid: invalid('username') })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', invalid: invalid('password'), hint: `It must ${listed(options.passwordRules)}.` })}
${field({ name: 'confirmPassword', label: 'Password again', type: 'password', autocomplete: 'new-password', invalid: invalid('confirmPassword') })}
<button type="submit">Create administrator</button>
</form>`,
  });
}

import type { AccountState } from '../directory/directory.ts';
import { ERROR_CATALOGUE } from '../core/errors.ts';
import { ACCOUNT_STATE_ERRORS, PASSWORD_CHANGE_NOT_ALLOWED, PASSWORD_CHANGE_REASONS } from './account-messages.ts';

/**
 * What the password step does, after the right password, with an account the directory reports in
 * `state`: the change-password page where the application allows it for this state, else a refusal.
 * `message`: the words the user reads there. The password step acts on it, and `policy explain` says it.
 */
export type PasswordStepAnswer = { kind: 'change-password'; state: 'password-expired' | 'must-change'; message: string } | { kind: 'refused'; message: string };

/** A state the user ends by changing the password: where the application does not take the change, "My security" does. */
export function passwordToChange(state: AccountState): state is 'password-expired' | 'must-change' {
  return state === 'password-expired' || state === 'must-change';
}

export function passwordStepAnswer(state: AccountState, allowPasswordChange: boolean): PasswordStepAnswer {
  const changeable = passwordToChange(state);
  if (changeable && allowPasswordChange) return { kind: 'change-password', state, message: PASSWORD_CHANGE_REASONS[state] };
  return { kind: 'refused', message: ERROR_CATALOGUE[ACCOUNT_STATE_ERRORS[state]].message + (changeable ? PASSWORD_CHANGE_NOT_ALLOWED : '') };
}

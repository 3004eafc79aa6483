import { terminalSafe } from '../core/terminal-text.ts';

/**
 * An application's access policy in `client list` and `sp list`: its own, or `(default)` when it
 * follows policies.default, so an administrator sees which applications inherit the default.
 */
export function policyColumn(policy: string | undefined): string {
  return `policy=${policy === undefined ? '(default)' : terminalSafe(policy)}`;
}

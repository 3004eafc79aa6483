import type { LocalUserRecord } from './local-users.ts';

/** Whether a local account is past its expiry date (`user add/update --expires`) at `now`: it may no longer sign in. */
export function accountExpired(record: Pick<LocalUserRecord, 'expiresAt'>, now: number): boolean {
  return record.expiresAt !== undefined && record.expiresAt <= now;
}
